package supervisely_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
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
		s, err := sv.NewSampler(ann, &meta, nil, sv.Video{Frames: 30, Width: 200, Height: 100}, crop.GEOS{})
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
		pieces, err := (&sv.Transform{SrcW: 200, SrcH: 100, FX: fx, FY: fy, W: 200, H: 100, Crop: crop.GEOS{}}).Apply(g)
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

// FuzzSampler: the whole path from a video annotation to the written label,
// over any video size, rotation and output size. Nothing panics; an annotation
// is refused or every annotated frame gives an error or valid JSON that parses
// back; every label lies inside the image (so no mask is larger than it); and a
// frame allocates in proportion to its figures' source frames and the output
// image, never to a scale factor.
func FuzzSampler(f *testing.F) {
	for _, c := range []struct {
		path   string
		vw, vh uint16
	}{{"ds0/ann/clip.mp4.json", 200, 100}, {"ds0/datasets/night/ann/dark.mp4.json", 128, 72}} {
		b, _ := os.ReadFile(filepath.Join(project, c.path))
		f.Add(b, c.vw, c.vh, uint8(0), true, uint16(300), uint16(150))
		f.Add(b, c.vh, c.vw, uint8(1), true, uint16(c.vw/3), uint16(c.vh))
		f.Add(b, c.vw, c.vh, uint8(3), false, uint16(c.vw*4), uint16(c.vh*4))
		f.Add(b, c.vh, c.vw, uint8(1), false, uint16(c.vh), uint16(c.vw)) // labels upright, output stored: turned
	}
	f.Add([]byte(serverForm), uint16(200), uint16(100), uint8(2), true, uint16(7), uint16(700))
	hostile := `{"size":{"height":1,"width":1},"objects":[{"key":"a","classTitle":"puddle"}],"frames":[{"index":0,"figures":[{"objectKey":"a","geometryType":"bitmap","geometry":{"bitmap":{"origin":[0,0],"data":"eJzqDPBz5+WS4mJgYOD19HAJYmBgYgBhRmYGBoZz29x2MjAwsAX4hLgyMDD8//9/6c35dxkYGBhLgvyCGRye3UhjYGCY4OniGFIx580ZR0EGBh6mBV/1bZ1/fOJjKogX4mBhanRQEKAXJcEvBHKl2a/2IqNNs0BOZ/B09XNZ55TQBAgAAP//5VszzQ=="}}}]}]}`
	f.Add([]byte(hostile), uint16(160), uint16(120), uint8(0), true, uint16(160), uint16(120))
	f.Add([]byte(strings.Replace(hostile, `"height":1,"width":1`, `"height":512,"width":512`, 1)), uint16(512), uint16(512), uint8(0), true, uint16(999), uint16(999))
	var meta sv.ProjectMeta
	b, _ := os.ReadFile(filepath.Join(project, "meta.json"))
	json.Unmarshal(b, &meta)
	f.Fuzz(func(t *testing.T, b []byte, vw, vh uint16, rot uint8, upright bool, ow, oh uint16) {
		ann, err := sv.ParseVideoAnnotation(b)
		if err != nil {
			return
		}
		video := sv.Video{Frames: 30, Width: 1 + int(vw)%1024, Height: 1 + int(vh)%1024, Rotation: 90 * int(rot%4), Upright: upright}
		s, err := sv.NewSampler(ann, &meta, nil, video, crop.GEOS{})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		w, h := 1+int(ow)%2048, 1+int(oh)%2048
		src := video.Width * video.Height
		for i := 0; i < video.Frames; i++ {
			if !s.Annotated(i) {
				continue
			}
			figs := 0
			for _, fr := range ann.Frames {
				if fr.Index == i {
					figs += len(fr.Figures)
				}
			}
			before := totalAlloc()
			img, _, err := s.Image(i, w, h)
			if err != nil {
				continue
			}
			out, err := json.Marshal(img)
			if err != nil {
				t.Fatalf("frame %d: an annotation that cannot be written: %v", i, err)
			}
			if used, limit := totalAlloc()-before, uint64(figs)*16*uint64(src+w*h)+64*uint64(len(b))+4<<20; used > limit {
				t.Fatalf("frame %d (%d figures, %dx%d video, %dx%d output) allocated %d bytes, limit %d", i, figs, video.Width, video.Height, w, h, used, limit)
			}
			var back sv.ImageAnnotation
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("frame %d: written annotation does not parse: %v\n%s", i, err, out)
			}
			for _, l := range img.Objects {
				if bad := outside(l.Geometry, w, h); bad != "" {
					t.Fatalf("frame %d at %dx%d: %s label outside the image: %s", i, w, h, l.Geometry.Type(), bad)
				}
			}
		}
	})
}

// outside describes the first part of g outside a w×h image, or "".
func outside(g sv.Geometry, w, h int) string {
	in := func(ps ...sv.Pt) string {
		for _, p := range ps {
			if !(p[0] >= 0 && p[1] >= 0 && p[0] <= float64(w-1) && p[1] <= float64(h-1)) {
				return fmt.Sprint(p)
			}
		}
		return ""
	}
	switch x := g.(type) {
	case *sv.Rectangle:
		return in(sv.Pt{x.Left, x.Top}, sv.Pt{x.Right, x.Bottom})
	case *sv.Point:
		return in(x.P)
	case *sv.Polygon:
		return in(x.Exterior...)
	case *sv.Line:
		return in(x.Points...)
	case *sv.Graph:
		for _, n := range x.Nodes {
			if s := in(n.Loc); s != "" {
				return s
			}
		}
	case *sv.Bitmap:
		if x.Origin[0] < 0 || x.Origin[1] < 0 || x.Origin[0]+x.W > w || x.Origin[1]+x.H > h {
			return fmt.Sprintf("%dx%d mask at %v", x.W, x.H, x.Origin)
		}
	}
	return ""
}
