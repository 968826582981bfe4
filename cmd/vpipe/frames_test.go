package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// withoutRecord is a frames folder's tree less vpipe's record of what made it.
func withoutRecord(t *testing.T, dir string) map[string]string {
	files := tree(t, dir)
	delete(files, ".vpipe-frames.json")
	return files
}

// TestFramesRefusesStaleFolder: a frames folder holding another video's frames,
// or this video's at another size or filter, is refused with both named, and
// left as it was; --overwrite replaces those frames with exactly what a fresh
// folder gets; another frame range only adds frames.
func TestFramesRefusesStaleFolder(t *testing.T) {
	a := testcorpus.Path(t, testcorpus.Get("h264_bframes"))
	b := testcorpus.Path(t, testcorpus.Get("h264_nob"))
	window := []string{"--start", "0", "--end", "12", "--step", "3"}
	frames := func(video, dir string, extra ...string) (string, int) {
		return vpipe(t, append(append([]string{"frames", video, "-o", dir}, window...), extra...)...)
	}
	fresh := func(video string, extra ...string) map[string]string {
		dir := t.TempDir()
		if log, code := frames(video, dir, extra...); code != 0 {
			t.Fatalf("fresh frames of %s: exit %d\n%s", video, code, log)
		}
		return withoutRecord(t, dir)
	}
	aFrames, bFrames := fresh(a), fresh(b)
	if fmt.Sprint(aFrames) == fmt.Sprint(bFrames) || len(aFrames) != 4 {
		t.Fatalf("the two videos must give 4 different frames each: %v %v", keys(aFrames), keys(bFrames))
	}

	out := t.TempDir()
	if log, code := frames(a, out); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	before := tree(t, out)

	refused := []struct {
		name  string
		video string
		extra []string
		want  []string
	}{
		{"another video", b, nil, []string{out + " holds 4 frames of " + a, "this run makes frames of " + b, "--overwrite"}},
		{"another size", a, []string{"--resize", "80x0"}, []string{`"resize":"0x0"`, `"resize":"80x0"`, "--overwrite"}},
		{"another filter", a, []string{"--filter", "lanczos"}, []string{`"filter":"bicubic"`, `"filter":"lanczos"`}},
		{"no autorotate", a, []string{"--no-autorotate"}, []string{`"autorotate":true`, `"autorotate":false`}},
		{"another format", a, []string{"--format", "jpeg"}, []string{`"format":"png"`, `"format":"jpeg","quality":90`}},
	}
	for _, c := range refused {
		log, code := frames(c.video, out, c.extra...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", c.name, code, log)
		}
		for _, w := range c.want {
			if !strings.Contains(log, w) {
				t.Errorf("%s: missing %q in\n%s", c.name, w, log)
			}
		}
		if fmt.Sprint(tree(t, out)) != fmt.Sprint(before) {
			t.Fatalf("%s: the refused run changed the folder", c.name)
		}
	}

	// the same video and settings: nothing to write
	if log, code := frames(a, out); code != 0 || !strings.Contains(log, "0 written, 4 skipped") {
		t.Fatalf("re-run: exit %d\n%s", code, log)
	}
	// another range of the same frames only adds frames
	if log, code := vpipe(t, "frames", a, "-o", out, "--start", "12", "--end", "14"); code != 0 || !strings.Contains(log, "2 written, 0 skipped") {
		t.Fatalf("another range: exit %d\n%s", code, log)
	}

	// --overwrite replaces every frame vpipe wrote, and keeps the user's own files
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
	log, code := frames(b, out, "--overwrite")
	if code != 0 || !strings.Contains(log, "4 written, 0 skipped") {
		t.Fatalf("--overwrite: exit %d\n%s", code, log)
	}
	got := withoutRecord(t, out)
	if _, ok := got["notes.txt"]; !ok {
		t.Error("--overwrite removed a file vpipe did not write")
	}
	delete(got, "notes.txt")
	if fmt.Sprint(got) != fmt.Sprint(bFrames) {
		t.Fatalf("after --overwrite the folder holds %v, not the other video's frames", keys(got))
	}
	if log, code := frames(b, out); code != 0 || !strings.Contains(log, "0 written, 4 skipped") {
		t.Fatalf("re-run after --overwrite: exit %d\n%s", code, log)
	}
	if log, code := frames(b, out, "--overwrite"); code != 0 || !strings.Contains(log, "4 written, 0 skipped") {
		t.Fatalf("--overwrite of matching frames rewrites them: exit %d\n%s", code, log)
	}

	// frames no record speaks for (an older vpipe, or by hand) are not trusted either
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "frame_000000.png"), []byte("not this video's"), 0o644)
	if log, code := frames(a, old); code != 1 || !strings.Contains(log, "holds 1 frame_* images") {
		t.Fatalf("unrecorded frames: exit %d\n%s", code, log)
	}
	if log, code := frames(a, old, "--overwrite"); code != 0 || !strings.Contains(log, "4 written, 0 skipped") {
		t.Fatalf("unrecorded frames, --overwrite: exit %d\n%s", code, log)
	}
	if fmt.Sprint(withoutRecord(t, old)) != fmt.Sprint(aFrames) {
		t.Fatal("after --overwrite the folder does not hold exactly the video's frames")
	}
}
