package supervisely_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

func sameJSON(t *testing.T, name string, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: written JSON does not parse: %v\n%s", name, err, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	if string(xa) != string(ya) {
		t.Errorf("%s does not round-trip:\nread  %s\nwrote %s", name, xa, ya)
	}
}

// serverForm is a video annotation as videos.annotations.bulk.info returns it.
const serverForm = `{"videoId":9001,"videoName":"clip.mp4","createdAt":"x","updatedAt":"y","description":"",
 "size":{"height":100,"width":200},"framesCount":30,
 "tags":[{"id":1,"name":"weather","value":"sunny","frameRange":[0,4],"labelerLogin":"bob"}],
 "objects":[{"id":77,"classId":11,"classTitle":"car","tags":[],"labelerLogin":"bob"}],
 "frames":[{"index":2,"figures":[{"id":5,"objectId":77,"geometryType":"rectangle","geometry":{"points":{"exterior":[[1,2],[3,4]],"interior":[]}},"trackId":null}]}]}`

func TestRoundTrip(t *testing.T) {
	var meta sv.ProjectMeta
	b, _ := os.ReadFile(filepath.Join(project, "meta.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "meta.json", b, out)

	for _, p := range []string{"ds0/ann/clip.mp4.json", "ds0/datasets/night/ann/dark.mp4.json"} {
		b, _ := os.ReadFile(filepath.Join(project, p))
		ann, err := sv.ParseVideoAnnotation(b)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(ann)
		sameJSON(t, p, b, out)
	}
	ann, err := sv.ParseVideoAnnotation([]byte(serverForm))
	if err != nil {
		t.Fatal(err)
	}
	out, _ = json.Marshal(ann)
	sameJSON(t, "server form", []byte(serverForm), out)

	// image annotations vpipe writes parse and write back equal, every geometry
	// (bitmap data included) and the unknown one.
	vann, m, keys := load(t)
	s, err := sv.NewSampler(vann, &meta, keys, sv.Video{Frames: 30, Width: 200, Height: 100}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	_ = m
	for _, f := range []int{3, 7, 12} {
		img, _, _ := s.Image(f, 200, 100)
		a, _ := json.Marshal(img)
		var back sv.ImageAnnotation
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(back)
		sameJSON(t, "image annotation", a, b)
	}
	// the server form's object id is the object_id tag
	s, err = sv.NewSampler(ann, &meta, nil, sv.Video{Frames: 30, Width: 200, Height: 100}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	img, _, _ := s.Image(2, 200, 100)
	if v := string(img.Objects[0].Tags[0].Value); v != "77" {
		t.Fatalf("object_id %s, want the server id 77", v)
	}
}

func TestMetaMerge(t *testing.T) {
	var src sv.ProjectMeta
	b, _ := os.ReadFile(filepath.Join(project, "meta.json"))
	json.Unmarshal(b, &src)
	out, err := sv.OutputMeta(nil, &src)
	if err != nil {
		t.Fatal(err)
	}
	if out.ProjectType != "images" || out.TagMeta("object_id").ValueType != "any_number" ||
		out.TagMeta("auto-tracked").ValueType != "none" || out.TagMeta("auto-tracked").ApplicableType != "objectsOnly" || len(out.Classes) != 7 {
		t.Fatalf("%+v", out)
	}
	// merging into an existing destination: its items stay, new ones come first
	dst := &sv.ProjectMeta{Classes: []sv.ObjClass{{Title: "tree", Shape: "polygon"}, {Title: "car", Shape: "rectangle", Color: "#000000"}}}
	out, err = sv.OutputMeta(dst, &src)
	if err != nil {
		t.Fatal(err)
	}
	if out.Classes[len(out.Classes)-2].Title != "tree" || out.Classes[0].Title != "road" || len(out.Classes) != 8 {
		t.Fatalf("%v", out.Classes)
	}
	// same class name, different shape: a conflict naming the class
	dst = &sv.ProjectMeta{Classes: []sv.ObjClass{{Title: "car", Shape: "polygon"}}}
	if _, err := sv.OutputMeta(dst, &src); err == nil || err.Error() != `class "car": shape polygon with geometry_config {} here, shape rectangle with geometry_config {} there` {
		t.Fatalf("conflict: %v", err)
	}
	dst = &sv.ProjectMeta{Tags: []sv.TagMeta{{Name: "weather", ValueType: "any_string"}}}
	if _, err := sv.OutputMeta(dst, &src); err == nil {
		t.Fatal("tag conflict not found")
	}
}
