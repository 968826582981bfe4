package supervisely_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// FuzzVideoAnnotation: no input makes parsing, checking or sampling panic, and
// what parses writes back to JSON that parses again. Seeds: testdata/fuzz/.
func FuzzVideoAnnotation(f *testing.F) {
	for _, p := range []string{"ds0/ann/clip.mp4.json", "ds0/datasets/night/ann/dark.mp4.json"} {
		b, _ := os.ReadFile(filepath.Join(project, p))
		f.Add(b)
	}
	f.Add([]byte(serverForm))
	var meta sv.ProjectMeta
	b, _ := os.ReadFile(filepath.Join(project, "meta.json"))
	json.Unmarshal(b, &meta)
	f.Fuzz(func(t *testing.T, b []byte) {
		ann, err := sv.ParseVideoAnnotation(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(ann)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := sv.ParseVideoAnnotation(out); err != nil {
			t.Fatalf("written annotation does not parse: %v\n%s", err, out)
		}
		s, err := sv.NewSampler(ann, &meta, nil, sv.Video{Frames: 30, Width: 200, Height: 100})
		if err != nil {
			return
		}
		for i := 0; i < 30; i++ {
			if s.Annotated(i) {
				for _, sz := range [][2]int{{200, 100}, {77, 31}, {450, 260}} {
					img, _, _ := s.Image(i, sz[0], sz[1])
					if _, err := json.Marshal(img); err != nil {
						t.Fatalf("image annotation: %v", err)
					}
				}
			}
		}
	})
}

// FuzzGeometry: any geometry JSON of any type parses or fails cleanly, and what
// parses scales and crops without panicking, staying inside the image (a mask
// is never made larger than the image, whatever the scale).
func FuzzGeometry(f *testing.F) {
	f.Add("rectangle", []byte(`{"points":{"exterior":[[10,20],[50,60]],"interior":[]}}`), 1.5, 0.4)
	f.Add("polygon", []byte(`{"points":{"exterior":[[-5,-5],[300,0],[100,400]],"interior":[[[1,1],[2,1],[2,2]]]}}`), 0.7, 1.3)
	f.Add("line", []byte(`{"points":{"exterior":[[190,50],[210,50],[210,60],[190,60]],"interior":[]}}`), 1.0, 1.0)
	f.Add("point", []byte(`{"points":{"exterior":[[33,77]],"interior":[]}}`), 2.0, 2.0)
	f.Add("graph", []byte(`{"nodes":{"a":{"loc":[1,2]},"b":{"loc":[300,2],"disabled":true}}}`), 0.5, 0.5)
	f.Add("bitmap", []byte(`{"bitmap":{"origin":[198,98],"data":"eJzrDPBz5+WS4mJgYOD19HAJAtKMIMzIDCT/9Q8KA3IYCwI8/Vx0nNILAYdvBa8="}}`), 0.4, 0.4)
	f.Add("cuboid_2d", []byte(`{"vertices":{}}`), 1.0, 1.0)
	f.Fuzz(func(t *testing.T, typ string, raw []byte, fx, fy float64) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return
		}
		g, err := sv.ParseGeometry(typ, m)
		if err != nil {
			return
		}
		if !(fx > 0.01 && fx < 100 && fy > 0.01 && fy < 100) {
			fx, fy = 1, 1
		}
		pieces, err := g.Transform(&sv.Transform{SrcW: 200, SrcH: 100, FX: fx, FY: fy, W: 200, H: 100})
		if err != nil {
			return
		}
		for _, piece := range pieces {
			l := sv.Label{ClassTitle: "x", Geometry: piece}
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if r, ok := piece.(*sv.Rectangle); ok && (r.Left < 0 || r.Top < 0 || r.Right > 199 || r.Bottom > 99) {
				t.Fatalf("cropped rectangle outside the image: %s", b)
			}
		}
	})
}
