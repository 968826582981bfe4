package main_test

import (
	"crypto/md5"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// Issue 16: an MKV or WebM at 30 fps (frame times rounded to the millisecond)
// cut at half its size, salvaged by `vpipe frames`: every frame the CLI
// decodes from the cut file is written under its true index, byte-identical
// to the CLI's frame of that index in the intact file, and every other frame
// is listed in the PARTIAL line (exit 3), by `vpipe frames` and `vpipe run`. A window inside what the file holds
// (--start 21 --end 28) is written whole (exit 0).
func TestSalvageCutMatroskaFrames(t *testing.T) {
	for _, v := range []testcorpus.Video{testcorpus.MKV30, testcorpus.WebM30} {
		t.Run(v.Name, func(t *testing.T) {
			intact := testcorpus.Path(t, v)
			data, err := os.ReadFile(intact)
			if err != nil {
				t.Fatal(err)
			}
			video := filepath.Join(t.TempDir(), "cut"+filepath.Ext(intact))
			if err := os.WriteFile(video, data[:len(data)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			ref := cliFrames(t, intact, "")
			if len(ref) != v.Frames {
				t.Fatalf("the CLI decodes %d frames of %s", len(ref), intact)
			}
			held := map[int]bool{}
			for _, f := range cliFrames(t, video, "") {
				for i := range ref {
					if abs(ref[i].time-f.time) < 1e-6 {
						held[i] = true
					}
				}
			}
			var missing []int
			for i := range ref {
				if !held[i] {
					missing = append(missing, i)
				}
			}
			out := t.TempDir()
			log, code := vpipe(t, "frames", video, "-o", out, "--on-damage", "salvage")
			line := fmt.Sprintf("PARTIAL frames/%s: %d frame(s) not written: %s (damaged: ", filepath.Base(video), len(missing), rangesOf(missing))
			if code != 3 || !strings.Contains(log, line) {
				t.Fatalf("exit %d, want 3 and %q\n%s", code, line, log)
			}
			checkWritten(t, out, ref, held)
			t.Logf("the CLI decodes %d frames of the cut file; vpipe wrote them, listed %s", len(held), rangesOf(missing))

			out = t.TempDir()
			log, code = vpipe(t, "frames", video, "-o", out, "--on-damage", "salvage", "--start", "21", "--end", "28")
			if code != 0 {
				t.Fatalf("--start 21 --end 28: exit %d, want 0\n%s", code, log)
			}
			checkWritten(t, out, ref, map[int]bool{21: true, 22: true, 23: true, 24: true, 25: true, 26: true, 27: true})

			// The same through `vpipe run` into a dataset: the frames the file
			// holds written under their indices, the rest listed, exit 3.
			out = t.TempDir()
			log, code = vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+video, "--set", "sink.path="+out,
				"--set", "sampling.step=1", "--set", "sampling.on_damage=salvage")
			name := filepath.Base(video)
			line = fmt.Sprintf("PARTIAL ds0/%s: %d frame(s) not written: %s (damaged: ", name, len(missing), rangesOf(missing))
			if code != 3 || !strings.Contains(log, line) {
				t.Fatalf("run: exit %d, want 3 and %q\n%s", code, line, log)
			}
			imgs, _ := filepath.Glob(filepath.Join(out, "*", "datasets", name, "img", "*.png"))
			anns, _ := filepath.Glob(filepath.Join(out, "*", "datasets", name, "ann", "*.json"))
			if len(imgs) != len(held) || len(anns) != len(held) {
				t.Fatalf("run wrote %d images and %d annotations, want %d of each", len(imgs), len(anns), len(held))
			}
		})
	}
}

// checkWritten: dir holds exactly the frames of want, each the CLI's frame of that index (ref).
func checkWritten(t *testing.T, dir string, ref []*cliFrame, want map[int]bool) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "frame_*.png"))
	var got, wantIx []int
	for _, p := range names {
		var i int
		if _, err := fmt.Sscanf(filepath.Base(p), "frame_%06d.png", &i); err != nil || i >= len(ref) {
			t.Fatalf("unexpected file %s", p)
		}
		got = append(got, i)
		rgb, w, h := pngRGB(t, p)
		if ref[i].md5 != fmt.Sprintf("%x", md5.Sum(rgb)) || ref[i].w != 3*w*h {
			t.Errorf("%s is not the CLI's frame %d of the intact file", filepath.Base(p), i)
		}
	}
	for i := range want {
		wantIx = append(wantIx, i)
	}
	sort.Ints(got)
	sort.Ints(wantIx)
	if fmt.Sprint(got) != fmt.Sprint(wantIx) {
		t.Errorf("wrote frames %s, want %s", rangesOf(got), rangesOf(wantIx))
	}
}
