package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// TestReportPartial: a salvaged video's entry in --report lists the frames
// not written and the damage, as the summary's PARTIAL line does (the report
// said only "partial": which frames to look at was in the terminal alone).
func TestReportPartial(t *testing.T) {
	data, err := os.ReadFile(testcorpus.Path(t, testcorpus.Get("mpegts")))
	if err != nil {
		t.Fatal(err)
	}
	bad, _, _ := overwrite(1, 2, 3000)(data)
	dir := t.TempDir()
	video := filepath.Join(dir, "clip.ts")
	os.WriteFile(video, bad, 0o644)
	rep := filepath.Join(dir, "report.json")
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+video, "--set", "sink.path="+filepath.Join(dir, "out"),
		"--set", "sampling.step=1", "--set", "sampling.on_damage=salvage", "--set", "stages.encode.format=jpeg", "--report", rep)
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, log)
	}
	m := regexp.MustCompile(`PARTIAL ds0/clip.ts: \d+ frame\(s\) not written: (\S+) \(damaged: `).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no PARTIAL line:\n%s", log)
	}
	b, _ := os.ReadFile(rep)
	var r struct {
		Status string `json:"status"`
		Videos []struct {
			Status  string `json:"status"`
			Missing string `json:"missing"`
			Damage  string `json:"damage"`
		} `json:"videos"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "partial" || len(r.Videos) != 1 || r.Videos[0].Status != "partial" || r.Videos[0].Missing != m[1] || r.Videos[0].Damage == "" {
		t.Fatalf("report: %s\nsummary lists %s", b, m[1])
	}
}
