package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyCommand: vpipe verify on the README's bundled run and annotated
// run exits 0; with a frame index off by one and an image deleted it names
// both, one line each, writes them to --report and exits 1; --sample with
// --seed checks that many images, the same ones each time.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	out, ann := filepath.Join(dir, "out"), filepath.Join(dir, "out-annotated")
	annSets := []string{"--set", "source.path=testdata/svproject", "--set", "sampling.only_annotated=true",
		"--set", "sampling.step=1", "--set", "sampling.resize.width=300"}
	if log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, log)
	}
	if log, code := vpipe(t, append([]string{"run", "pipeline.yaml", "--set", "sink.path=" + ann}, annSets...)...); code != 0 {
		t.Fatalf("annotated run: exit %d\n%s", code, log)
	}
	if log, code := vpipe(t, "verify", out, "--config", "pipeline.yaml"); code != 0 || !strings.Contains(log, "checked 38 of 38 images") || !strings.Contains(log, ": 0 mismatches") {
		t.Fatalf("verify: exit %d\n%s", code, log)
	}
	if log, code := vpipe(t, append([]string{"verify", ann}, annSets...)...); code != 0 || !strings.Contains(log, "checked 9 of 9 images") {
		t.Fatalf("verify annotated (config pipeline.yaml by default): exit %d\n%s", code, log)
	}

	ds := filepath.Join(out, "ds0/datasets/traffic.mp4")
	meta := filepath.Join(ds, "meta/traffic.mp4_frame_010.png.json")
	b, _ := os.ReadFile(meta)
	if err := os.WriteFile(meta, []byte(strings.Replace(string(b), `"frame_index": 10,`, `"frame_index": 11,`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ds, "img/traffic.mp4_frame_095.png")); err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(dir, "report.json")
	log, code := vpipe(t, "verify", out, "--config", "pipeline.yaml", "--report", rep)
	for _, want := range []string{
		"ds0/datasets/traffic.mp4/img/traffic.mp4_frame_010.png: meta: frame_index: dataset 11, video 10\n",
		"ds0/datasets/traffic.mp4/img/traffic.mp4_frame_095.png: missing: the selection takes frame 95",
		"checked 37 of 37 images of local " + out + ": 2 mismatches",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in\n%s", want, log)
		}
	}
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var r struct {
		OK         bool `json:"ok"`
		Mismatches []struct{ Image, Reason string }
	}
	b, _ = os.ReadFile(rep)
	if err := json.Unmarshal(b, &r); err != nil || r.OK || len(r.Mismatches) != 2 || r.Mismatches[0].Reason != "meta" || r.Mismatches[1].Reason != "missing" {
		t.Fatalf("report %v:\n%s", err, b)
	}

	a, code := vpipe(t, "verify", out, "--sample", "4", "--seed", "9")
	again, _ := vpipe(t, "verify", out, "--sample", "4", "--seed", "9")
	if !strings.Contains(a, "checked 4 of 37 images of local "+out+" (a sample, --seed 9)") || a != again {
		t.Fatalf("exit %d\n%s\nthen\n%s", code, a, again)
	}
	if log, code := vpipe(t, "verify", filepath.Join(dir, "nothing"), "--config", "pipeline.yaml"); code != 1 || !strings.Contains(log, "nothing") {
		t.Fatalf("a folder that is not there: exit %d\n%s", code, log)
	}
	if log, code := vpipe(t, "verify", out, "--sample", "-1"); code != 2 {
		t.Fatalf("--sample -1: exit %d\n%s", code, log)
	}
}
