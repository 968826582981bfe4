package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type reportJSON struct {
	Status            string  `json:"status"`
	VideosOK          int     `json:"videos_ok"`
	VideosFailed      int     `json:"videos_failed"`
	VideosInterrupted int     `json:"videos_interrupted"`
	VideosNotStarted  int     `json:"videos_not_started"`
	Written           int     `json:"frames_written"`
	Skipped           int     `json:"frames_skipped"`
	FPS               float64 `json:"frames_per_s"`
	Bottleneck        string  `json:"bottleneck"`
	Stages            []struct {
		Name    string `json:"name"`
		Workers int    `json:"workers"`
		In      int64  `json:"items_in"`
		Out     int64  `json:"items_out"`
	} `json:"stages"`
	IO struct {
		SourceBytes int64 `json:"source_bytes"`
		SinkBytes   int64 `json:"sink_bytes"`
	} `json:"io"`
	Videos []struct {
		Video   string `json:"video"`
		Status  string `json:"status"`
		Written int    `json:"written"`
		Skipped int    `json:"skipped"`
		Error   string `json:"error"`
	} `json:"videos"`
}

// TestReportMatchesSummary: --report's JSON says what the printed summary
// says (counts, frames/s, the stage that held the run back, every failure
// with its error) and gives every video's result, a failed one included.
func TestReportMatchesSummary(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	good, err := os.ReadFile("../../testdata/videos/traffic.mp4")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "good.mp4"), good, 0o644)
	os.WriteFile(filepath.Join(src, "corrupt.mkv"), bytes.Repeat([]byte("not a video at all "), 3000), 0o644)
	rep := filepath.Join(t.TempDir(), "report.json")
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.step=10", "--report", rep, "--stages")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a video failed)\n%s", code, log)
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r reportJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	sum := regexp.MustCompile(`videos: (\d+) ok, (\d+) failed; frames: (\d+) written, (\d+) skipped \(already there\); \S+, ([\d.]+) frames/s`).FindStringSubmatch(log)
	if sum == nil {
		t.Fatalf("no summary in\n%s", log)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	fps, _ := strconv.ParseFloat(sum[5], 64)
	if r.Status != "failed" || r.VideosOK != n(sum[1]) || r.VideosFailed != n(sum[2]) || r.Written != n(sum[3]) ||
		r.Skipped != n(sum[4]) || r.FPS != fps || r.VideosInterrupted != 0 || r.VideosNotStarted != 0 {
		t.Errorf("report %+v\nsummary %q", r, sum[0])
	}
	if r.VideosOK != 1 || r.VideosFailed != 1 || r.Written != 10 {
		t.Errorf("report counts %+v", r)
	}
	held := regexp.MustCompile(`held back by stage (\w+):`).FindStringSubmatch(log)
	if held == nil || held[1] != r.Bottleneck {
		t.Errorf("bottleneck %q, summary %q", r.Bottleneck, held)
	}

	// every video, with what the summary says of it
	byName := map[string]int{}
	for i, v := range r.Videos {
		byName[v.Video] = i
	}
	if len(r.Videos) != 2 {
		t.Fatalf("videos %+v", r.Videos)
	}
	if v := r.Videos[byName["ds0/good.mp4"]]; v.Status != "ok" || v.Written != 10 || v.Skipped != 0 || v.Error != "" {
		t.Errorf("good.mp4: %+v", v)
	}
	v := r.Videos[byName["ds0/corrupt.mkv"]]
	if v.Status != "failed" || v.Written != 0 || v.Error == "" ||
		!strings.Contains(log, "FAILED ds0/corrupt.mkv: "+v.Error+"\n") {
		t.Errorf("corrupt.mkv: %+v\n%s", v, log)
	}

	// the stages as --stages prints them
	if len(r.Stages) == 0 {
		t.Fatal("no stages")
	}
	for _, st := range r.Stages {
		re := `stage ` + st.Name + ` +workers +` + strconv.Itoa(st.Workers) + ` .*items ` +
			strconv.FormatInt(st.In, 10) + ` in, ` + strconv.FormatInt(st.Out, 10) + ` out`
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("stage %+v not printed as %s in\n%s", st, re, log)
		}
		if st.Name == "write" && st.In != 10 {
			t.Errorf("write took %d images", st.In)
		}
	}
	if r.IO.SourceBytes < int64(len(good)) || r.IO.SinkBytes <= 0 {
		t.Errorf("io %+v", r.IO)
	}
	if e, _ := filepath.Glob(filepath.Join(filepath.Dir(rep), "*vpipe-tmp*")); len(e) > 0 {
		t.Errorf("temporary files left: %v", e)
	}
}

// checkInterruptedReport: an interrupted run's --report (TestInterruptAndResume).
func checkInterruptedReport(t *testing.T, path string, written int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--report after an interrupt: %v", err)
	}
	var r reportJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if r.Status != "interrupted" || r.VideosInterrupted != 1 || r.Written != written || len(r.Videos) != 1 ||
		r.Videos[0].Status != "interrupted" || r.Videos[0].Written != written {
		t.Errorf("report after an interrupt: %s", b)
	}
}

// TestReportFolderChecked: a --report into a missing folder is refused before
// anything runs, not found out after the whole run.
func TestReportFolderChecked(t *testing.T) {
	out := t.TempDir()
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "sink.path="+out, "--report", filepath.Join(out, "no", "r.json"))
	if code != 2 || !strings.Contains(log, "--report "+filepath.Join(out, "no", "r.json")+": no folder "+filepath.Join(out, "no")) {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if e, _ := os.ReadDir(out); len(e) != 0 {
		t.Errorf("the refused run wrote %v", e)
	}
}
