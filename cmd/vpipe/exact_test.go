package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// Issue 9 item 5: a video of a local project whose annotation file is missing
// is taken as unlabelled, as the platform takes it: sampled with empty
// annotations of the output size, no tags, and a warning naming it.
func TestMissingAnnotationUnlabelled(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	copyTree(t, "../../testdata/svproject", src)
	gone := filepath.Join(src, "ds0", "ann", "clip.mp4.json")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.step=10", "--set", "sampling.resize.width=300")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	warned := false
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "annotation file missing") &&
			strings.Contains(l, "video=ds0/clip.mp4") && strings.Contains(l, gone) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming the video and the file:\n%s", log)
	}
	images := checkImageProject(t, out) // every annotation's size is its image's
	clip, dark := 0, 0
	for _, im := range images {
		b, err := os.ReadFile(filepath.Join(out, strings.Replace(im, "/img/", "/ann/", 1)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var a sv.ImageAnnotation
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(im, "clip.mp4"):
			clip++
			if len(a.Objects) != 0 || len(a.Tags) != 0 || a.Width != 300 || a.Height != 150 {
				t.Errorf("%s: want an empty 300x150 annotation, got %s", im, b)
			}
		case strings.Contains(im, "dark.mp4"):
			dark++
		}
	}
	if clip == 0 || dark == 0 {
		t.Fatalf("images: %v", images)
	}
	// the labelled video keeps its labels
	b, _ := os.ReadFile(filepath.Join(out, "ds0/datasets/night/datasets/dark.mp4/ann/dark.mp4_frame_00.png.json"))
	var a sv.ImageAnnotation
	if json.Unmarshal(b, &a); len(a.Objects) == 0 {
		t.Errorf("dark.mp4 frame 0 lost its labels: %s", b)
	}
	// only_annotated: the unlabelled video has no frame to take, and that is no failure
	out2 := t.TempDir()
	log, code = vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out2,
		"--set", "sampling.only_annotated=true")
	if code != 0 || !strings.Contains(log, "annotation file missing") || !strings.Contains(log, "no frame selected") {
		t.Fatalf("only_annotated: exit %d\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(out2, "ds0/datasets/clip.mp4")); !os.IsNotExist(err) {
		t.Errorf("only_annotated wrote a dataset for the unlabelled video: %v", err)
	}
}
