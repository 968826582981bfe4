package main_test

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// checkImageProject opens dir as a Supervisely image project (reference §8.3) and
// fails on anything a reader would reject: meta.json must parse; every dataset
// folder holds img/ and ann/ (nested ones under datasets/); every image is a PNG
// with ann/<image>.json whose size is the PNG's and whose classes and tags are in
// the meta. It returns the image paths relative to dir.
func checkImageProject(t *testing.T, dir string) []string {
	t.Helper()
	var meta sv.ProjectMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatalf("meta.json: %v", err)
	}
	var images []string
	var walk func(ds string)
	walk = func(ds string) {
		entries, err := os.ReadDir(ds)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			switch {
			case e.Name() == "datasets":
				children, _ := os.ReadDir(filepath.Join(ds, "datasets"))
				for _, c := range children {
					walk(filepath.Join(ds, "datasets", c.Name()))
				}
			case e.Name() == "img":
				imgs, _ := os.ReadDir(filepath.Join(ds, "img"))
				for _, im := range imgs {
					p := filepath.Join(ds, "img", im.Name())
					f, err := os.Open(p)
					if err != nil {
						t.Fatal(err)
					}
					cfg, err := png.DecodeConfig(f)
					f.Close()
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					var ann sv.ImageAnnotation
					ab, err := os.ReadFile(filepath.Join(ds, "ann", im.Name()+".json"))
					if err != nil {
						t.Fatalf("%s has no annotation: %v", p, err)
					}
					if err := json.Unmarshal(ab, &ann); err != nil {
						t.Fatalf("%s annotation: %v", p, err)
					}
					if ann.Width != cfg.Width || ann.Height != cfg.Height {
						t.Fatalf("%s: annotation size %dx%d, image %dx%d", p, ann.Width, ann.Height, cfg.Width, cfg.Height)
					}
					for _, l := range ann.Objects {
						if meta.Class(l.ClassTitle) == nil {
							t.Fatalf("%s: class %q not in meta.json", p, l.ClassTitle)
						}
						for _, tg := range l.Tags {
							if meta.TagMeta(tg.Name) == nil {
								t.Fatalf("%s: tag %q not in meta.json", p, tg.Name)
							}
						}
					}
					rel, _ := filepath.Rel(dir, p)
					images = append(images, rel)
				}
			}
		}
	}
	top, _ := os.ReadDir(dir)
	for _, e := range top {
		if e.IsDir() {
			walk(filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(images)
	return images
}

func TestSupervislyProjectToImageProject(t *testing.T) {
	out := t.TempDir()
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+out,
		"--set", "sampling.step=2", "--set", "sampling.only_annotated=true", "--set", "sampling.resize.width=300")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	images := checkImageProject(t, out)
	want := []string{ // clip: annotated 3 7 12 25 -> step 2 -> 3 12; dark: 0 4 8 12 16 -> 0 8 16
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_03.png",
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_12.png",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_00.png",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_08.png",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_16.png",
	}
	if strings.Join(images, "\n") != strings.Join(want, "\n") {
		t.Fatalf("images:\n%s", strings.Join(images, "\n"))
	}
	if !strings.Contains(log, `label left out`) || !strings.Contains(log, `cannot resize a \"oriented_bbox\" geometry`) {
		t.Errorf("the unscalable figure is not reported:\n%s", log)
	}
	// the frame written equals the hand-checked golden annotation (frame 3 at 300x150)
	got, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/clip.mp4/ann/clip.mp4_frame_03.png.json"))
	var a, b sv.ImageAnnotation
	json.Unmarshal(got, &a)
	wantB, _ := os.ReadFile("../../supervisely/testdata/golden/clip_frame03_300x150.json")
	if err := json.Unmarshal(fixMaskForParse(t, wantB), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("frame 3 annotation:\n%s\nwant\n%s", ja, jb)
	}
	var meta map[string]any
	mb, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/clip.mp4/meta/clip.mp4_frame_12.png.json"))
	json.Unmarshal(mb, &meta)
	if meta["frame_index"] != 12.0 || meta["video_id"] != 9001.0 || meta["video_dataset_name"] != "ds0" || meta["video_project_name"] != "svproject" {
		t.Errorf("image meta: %s", mb)
	}
	for _, p := range []string{"custom_data.json", "ds0/custom_data.json", "ds0/datasets/night/custom_data.json", "ds0/datasets/night/datasets/dark.mp4/custom_data.json"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("provenance: %v", err)
		}
	}
	// meta.json: the source classes plus object_id and auto-tracked
	var pm sv.ProjectMeta
	pb, _ := os.ReadFile(filepath.Join(out, "meta.json"))
	json.Unmarshal(pb, &pm)
	if len(pm.Classes) != 7 || pm.TagMeta("object_id") == nil || pm.TagMeta("auto-tracked") == nil || pm.ProjectType != "images" {
		t.Errorf("meta.json: %s", pb)
	}
	// a re-run writes nothing and leaves every file as it was
	before := tree(t, out)
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+out,
		"--set", "sampling.step=2", "--set", "sampling.only_annotated=true", "--set", "sampling.resize.width=300")
	if code != 0 || !strings.Contains(log, "0 written, 5 skipped") {
		t.Fatalf("re-run: %d\n%s", code, log)
	}
	if after := tree(t, out); len(after) != len(before) {
		t.Fatal("re-run changed the output")
	} else {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("re-run changed %s", k)
			}
		}
	}
}

// fixMaskForParse turns a golden file's readable mask rows back into bitmap data.
func fixMaskForParse(t *testing.T, b []byte) []byte {
	var v any
	json.Unmarshal(b, &v)
	var fix func(any)
	fix = func(x any) {
		switch y := x.(type) {
		case map[string]any:
			if bm, ok := y["bitmap"].(map[string]any); ok {
				rows := bm["mask"].([]any)
				m := &sv.Mask{W: len(rows[0].(string)), H: len(rows)}
				for _, r := range rows {
					for _, c := range r.(string) {
						m.Bits = append(m.Bits, c == '1')
					}
				}
				data, err := sv.EncodeMask(m)
				if err != nil {
					t.Fatal(err)
				}
				delete(bm, "mask")
				bm["data"] = data
			}
			for _, e := range y {
				fix(e)
			}
		case []any:
			for _, e := range y {
				fix(e)
			}
		}
	}
	fix(v)
	out, _ := json.Marshal(v)
	return out
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMetaConflictWritesNothing(t *testing.T) {
	out := t.TempDir()
	conflicting := `{"classes":[{"title":"car","shape":"polygon","color":"#000000","geometry_config":{},"hotkey":"","description":""}],"tags":[]}`
	os.WriteFile(filepath.Join(out, "meta.json"), []byte(conflicting), 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+out)
	if code != 1 || !strings.Contains(log, `class "car": shape polygon`) || !strings.Contains(log, filepath.Join(out, "meta.json")) {
		t.Fatalf("exit %d\n%s", code, log)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Fatalf("wrote %d entries", len(entries))
	}
	if b, _ := os.ReadFile(filepath.Join(out, "meta.json")); string(b) != conflicting {
		t.Fatal("meta.json was changed")
	}
}

// TestValidateMetaConflict: validate makes run's start-up checks: a sink
// meta.json with a class of the source's name but another shape, or one that
// does not parse, fails it (exit 1) naming the file and the class, and it
// writes nothing.
func TestValidateMetaConflict(t *testing.T) {
	out := t.TempDir()
	meta := filepath.Join(out, "meta.json")
	for _, c := range []struct{ meta, want string }{
		{`{"classes":[{"title":"car","shape":"polygon","color":"#000000","geometry_config":{},"hotkey":"","description":""}],"tags":[]}`, `class "car": shape polygon`},
		{`{"classes": [`, meta},
	} {
		os.WriteFile(meta, []byte(c.meta), 0o644)
		log, code := vpipe(t, "validate", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+out)
		if code != 1 || !strings.Contains(log, c.want) || !strings.Contains(log, meta) || strings.Contains(log, ": OK") {
			t.Errorf("meta.json %s: exit %d, want 1 naming %q\n%s", c.meta, code, c.want, log)
		}
		if b, _ := os.ReadFile(meta); string(b) != c.meta {
			t.Error("meta.json was changed")
		}
		if entries, _ := os.ReadDir(out); len(entries) != 1 {
			t.Errorf("wrote %d entries", len(entries))
		}
	}
}

func TestMalformedAnnotationNamed(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	annPath := filepath.Join(src, "ds0/ann/clip.mp4.json")
	b, _ := os.ReadFile(annPath)
	bad := strings.Replace(string(b), `"objectKey": "000000000000000000000000000003e8"`, `"objectKey": "x"`, 1)
	bad = strings.Replace(bad, `"objectKey": "00000000000000000000000000000003"`, `"objectKey": "no-such-object"`, 1)
	os.WriteFile(annPath, []byte(bad), 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out)
	if code != 1 || !strings.Contains(log, annPath+": frames[0].figures[2].objectKey: no object no-such-object in objects") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if !strings.Contains(log, "videos: 1 ok, 1 failed") {
		t.Fatalf("the other video should complete:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(out, "ds0/datasets/clip.mp4")); !os.IsNotExist(err) {
		t.Fatal("the failed video left a dataset folder")
	}
	os.WriteFile(annPath, []byte(`{"frames": [ {"index": 1, "figures": [}`), 0o644)
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out)
	if code != 1 || !strings.Contains(log, annPath+": not valid JSON at byte") {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// TestHugeCoordinateFailsVideo: a coordinate that would scale past float64's
// range (1e308 × 2) once wrote its frame with no labels at all and counted the
// video as ok. Now the annotation is refused where it is read, naming the file
// and the JSON path, and the video writes nothing; the other video completes.
func TestHugeCoordinateFailsVideo(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	annPath := filepath.Join(src, "ds0/ann/clip.mp4.json")
	var ann map[string]any
	b, _ := os.ReadFile(annPath)
	if err := json.Unmarshal(b, &ann); err != nil {
		t.Fatal(err)
	}
	// frame 3's polygon [[0,0],[100,0],[100,50],[0,50]] gets a point at x = 1e308
	poly := ann["frames"].([]any)[0].(map[string]any)["figures"].([]any)[1].(map[string]any)
	poly["geometry"].(map[string]any)["points"].(map[string]any)["exterior"].([]any)[1] = []any{1e308, 0}
	b, _ = json.Marshal(ann)
	os.WriteFile(annPath, b, 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.step=1", "--set", "sampling.resize.width=400")
	if code != 1 || !strings.Contains(log, annPath+": frames[0].figures[1].geometry.points.exterior[1]: ") ||
		!strings.Contains(log, "videos: 1 ok, 1 failed") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(out, "ds0/datasets/clip.mp4/img")); !os.IsNotExist(err) {
		t.Fatal("the failed video left images")
	}
}

// TestAnnotationSizeMismatchFailsVideo: an annotation whose size is not the
// video's (here 1x1 on a 200x100 clip, with a 512² mask that once made a 5 GB
// allocation) fails that video, naming the file and both sizes; the other
// video completes.
func TestAnnotationSizeMismatchFailsVideo(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	annPath := filepath.Join(src, "ds0/ann/clip.mp4.json")
	b, _ := os.ReadFile(annPath)
	bad := strings.Replace(string(b), "\"height\": 100,\n        \"width\": 200", "\"height\": 1,\n        \"width\": 1", 1)
	if bad == string(b) {
		t.Fatal("fixture size not found")
	}
	os.WriteFile(annPath, []byte(bad), 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out)
	if code != 1 || !strings.Contains(log, annPath+": size: 1x1 (width x height) is not the video's size 200x100") ||
		!strings.Contains(log, "videos: 1 ok, 1 failed") {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// TestEmptyMaskFailsVideoWhenWritten: bitmap pixels are decoded only when a
// frame showing them is written, so an all-clear mask (the SDK refuses one) is
// found then: the video fails naming the file and the figure, the images it
// wrote are removed, and no frame is written with the label missing.
func TestEmptyMaskFailsVideoWhenWritten(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	annPath := filepath.Join(src, "ds0/ann/clip.mp4.json")
	var ann map[string]any
	b, _ := os.ReadFile(annPath)
	if err := json.Unmarshal(b, &ann); err != nil {
		t.Fatal(err)
	}
	empty, err := sv.EncodeMask(&sv.Mask{W: 4, H: 3, Bits: make([]bool, 12)})
	if err != nil {
		t.Fatal(err)
	}
	// frame 7's bitmap (frames[1].figures[4]); frames 0..6 are written first
	fig := ann["frames"].([]any)[1].(map[string]any)["figures"].([]any)[4].(map[string]any)
	fig["geometry"].(map[string]any)["bitmap"].(map[string]any)["data"] = empty
	b, _ = json.Marshal(ann)
	os.WriteFile(annPath, b, 0o644)
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out, "--set", "sampling.step=1")
	if code != 1 || !strings.Contains(log, annPath+": frames[1].figures[4].geometry: the mask is empty (frame 7)") ||
		!strings.Contains(log, "videos: 1 ok, 1 failed") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if imgs, _ := os.ReadDir(filepath.Join(out, "ds0/datasets/clip.mp4/img")); len(imgs) != 0 {
		t.Fatalf("the failed video left %d images", len(imgs))
	}
}
