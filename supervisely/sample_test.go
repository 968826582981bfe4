package supervisely_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

var update = flag.Bool("update", false, "rewrite the golden files (then check them by hand)")

const project = "../testdata/svproject"

func load(t *testing.T) (*sv.VideoAnnotation, *sv.ProjectMeta, *sv.KeyIdMap) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(project, "ds0/ann/clip.mp4.json"))
	if err != nil {
		t.Fatal(err)
	}
	ann, err := sv.ParseVideoAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	var meta sv.ProjectMeta
	b, _ = os.ReadFile(filepath.Join(project, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(project, "key_id_map.json"))
	keys, err := sv.ParseKeyIdMap(b)
	if err != nil {
		t.Fatal(err)
	}
	return ann, &meta, keys
}

// maskRows replaces every bitmap's data by its mask as rows of 0/1, so goldens
// can be read and checked by hand.
func maskRows(t *testing.T, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if bm, ok := x["bitmap"].(map[string]any); ok {
			m, err := sv.DecodeMask(bm["data"].(string))
			if err != nil {
				t.Fatal(err)
			}
			var rows []any
			for y := 0; y < m.H; y++ {
				var r strings.Builder
				for xx := 0; xx < m.W; xx++ {
					if m.Bits[y*m.W+xx] {
						r.WriteByte('1')
					} else {
						r.WriteByte('0')
					}
				}
				rows = append(rows, r.String())
			}
			delete(bm, "data")
			bm["mask"] = rows
		}
		for k, e := range x {
			x[k] = maskRows(t, e)
		}
	case []any:
		for i, e := range x {
			x[i] = maskRows(t, e)
		}
	}
	return v
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(maskRows(t, v), "", "  ")
	path := filepath.Join("testdata/golden", name)
	if *update {
		os.WriteFile(path, append(pretty, '\n'), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(pretty)) {
		t.Errorf("%s differs from the golden file:\n%s", name, pretty)
	}
}

// TestFrameAnnotations checks frames of the fixture against hand-checked JSON:
// every geometry, tags with and without frame ranges, a tracked figure, figures
// partly outside the frame, a graph with a node outside, a bitmap at the border,
// an unknown geometry, and resizing by 1.5 (up) and 0.4 (down).
func TestFrameAnnotations(t *testing.T) {
	ann, meta, keys := load(t)
	s, err := sv.NewSampler(ann, meta, keys, sv.Video{Frames: 30, Width: 200, Height: 100}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		frame, w, h int
		skipped     int
	}{
		{3, 200, 100, 0}, {7, 200, 100, 0}, {12, 200, 100, 0}, {4, 200, 100, 0},
		{3, 300, 150, 1}, {7, 300, 150, 0}, {3, 80, 40, 1}, {7, 80, 40, 0},
	} {
		img, skipped, err := s.Image(c.frame, c.w, c.h)
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) != c.skipped {
			t.Errorf("frame %d at %dx%d: skipped %v", c.frame, c.w, c.h, skipped)
		}
		b, err := json.Marshal(img)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, fmt.Sprintf("clip_frame%02d_%dx%d.json", c.frame, c.w, c.h), b)
	}
	var annotated []int
	for i := 0; i < 30; i++ {
		if s.Annotated(i) {
			annotated = append(annotated, i)
		}
	}
	if fmt.Sprint(annotated) != "[3 7 12 25]" {
		t.Fatalf("annotated frames %v", annotated)
	}
}

func TestSamplerErrors(t *testing.T) {
	_, meta, _ := load(t)
	for _, c := range []struct{ json, want string }{
		{`{"size":{"height":10,"width":10},"objects":[{"key":"a","classTitle":"truck"}],"frames":[]}`, `objects[0].classTitle: class "truck" is not in the project meta`},
		{`{"size":{"height":10,"width":10},"objects":[{"key":"a","classTitle":"car"}],"frames":[{"index":2,"figures":[{"objectKey":"b","geometryType":"point","geometry":{"points":{"exterior":[[1,1]],"interior":[]}}}]}]}`, `frames[0].figures[0].objectKey: no object b in objects`},
		{`{"size":{"height":10,"width":10},"objects":[{"key":"a","classTitle":"car"}],"frames":[{"index":40,"figures":[]}]}`, `frames[0].index: frame 40 is beyond the video (30 frames)`},
	} {
		ann, err := sv.ParseVideoAnnotation([]byte(c.json))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 30, Width: 10, Height: 10}, crop.GEOS{}); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
	for _, c := range []struct{ json, want string }{
		{`{"objects":[{"key":"a"}]}`, "objects[0].classTitle: missing or empty"},
		{`{"frames":[{"index":1,"figures":[{"objectKey":"a","geometryType":"rectangle","geometry":{"points":{"exterior":[[1,1]],"interior":[]}}}]}]}`, "frames[0].figures[0].geometry.points.exterior: a rectangle needs 2 points, got 1"},
		{`{"frames":[{"index":1,"figures":[{"objectKey":"a","geometryType":"line","geometry":{"points":{"exterior":"x"}}}]}]}`, "frames[0].figures[0].geometry.points"},
		{`{"frames":[{"index":-1}]}`, "frames[0].index: negative frame index -1"},
		{`{"tags":[{"name":"w","frameRange":[5,2]}]}`, "tags[0].frameRange: [5, 2] is not a range"},
		{`{"frames": [`, "not valid JSON"},
	} {
		if _, err := sv.ParseVideoAnnotation([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
}

// TestNestedDatasetAnnotation: the nested dataset's video (128x72, a tracked
// rectangle every 4th frame) at half size: frame 8's [[8,8],[28,18]] becomes
// [[4,4],[14,9]]; object_id falls back to the position, 1.
func TestNestedDatasetAnnotation(t *testing.T) {
	_, meta, keys := load(t)
	b, err := os.ReadFile(filepath.Join(project, "ds0/datasets/night/ann/dark.mp4.json"))
	if err != nil {
		t.Fatal(err)
	}
	ann, err := sv.ParseVideoAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sv.NewSampler(ann, meta, keys, sv.Video{Frames: 20, Width: 128, Height: 72}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	img, _, _ := s.Image(8, 64, 36)
	out, _ := json.Marshal(img)
	golden(t, "dark_frame08_64x36.json", out)
}

func TestLegacyMetaTags(t *testing.T) {
	var m sv.ProjectMeta
	legacy := `{"classes":[],"tags_images":[{"name":"a","value_type":"none","color":"#000000"}],"tags_objects":[{"name":"b","value_type":"any_number","color":"#000000"}]}`
	if err := json.Unmarshal([]byte(legacy), &m); err != nil || len(m.Tags) != 2 || m.TagMeta("b").ValueType != "any_number" {
		t.Fatalf("%v %+v", err, m)
	}
	mixed := `{"classes":[],"tags":[],"tags_images":[]}`
	if err := json.Unmarshal([]byte(mixed), &m); err == nil {
		t.Fatal("mixing tags and tags_images is not an error")
	}
}

// TestSplitPolygonLabels: a polygon split by the border gives one label per
// piece, each with the figure's class and tags, object_id included (the SDK
// clones the label for every piece).
func TestSplitPolygonLabels(t *testing.T) {
	_, meta, _ := load(t)
	js := `{"size":{"height":100,"width":100},"objects":[{"key":"a","classTitle":"road","tags":[]}],
		"frames":[{"index":0,"figures":[{"objectKey":"a","geometryType":"polygon","geometry":{"points":
		{"exterior":[[10,-20],[90,-20],[90,50],[70,50],[70,-10],[30,-10],[30,50],[10,50]],"interior":[]}}}]}]}`
	ann, err := sv.ParseVideoAnnotation([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 1, Width: 100, Height: 100}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := s.Image(0, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Objects) != 2 {
		t.Fatalf("%d labels, want 2", len(img.Objects))
	}
	for i, l := range img.Objects {
		if l.ClassTitle != "road" || fmt.Sprint(l.Tags) != fmt.Sprint(img.Objects[0].Tags) || len(l.Tags) != 1 || l.Tags[0].Name != "object_id" || string(l.Tags[0].Value) != "1" {
			t.Errorf("label %d: %s %v", i, l.ClassTitle, l.Tags)
		}
	}
}
