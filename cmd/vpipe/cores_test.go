package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

// TestCoresUsedIsTheRuns: the summary's "vpipe used X of N cores" is the CPU
// time the run took over the run's time, not the whole process's CPU time
// (start-up, config, the FFmpeg libraries loading) over the run's: on a run
// that stops at once (the dataset holds PNGs, this run makes JPEGs) that
// printed 21.0 of 2 cores. No process keeps more cores busy than the machine has.
func TestCoresUsedIsTheRuns(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	b, err := os.ReadFile("../../testdata/videos/traffic.mp4")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "a.mp4"), b, 0o644)
	args := []string{"run", "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--set", "sampling.step=50"}
	if log, code := vpipe(t, args...); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	log, code := vpipe(t, append(args, "--set", "stages.encode.format=jpeg")...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the format change refused)\n%s", code, log)
	}
	m := regexp.MustCompile(`vpipe used ([0-9.]+) of (\d+) cores`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no cores figure in\n%s", log)
	}
	used, _ := strconv.ParseFloat(m[1], 64)
	if used > float64(runtime.NumCPU())+0.1 {
		t.Fatalf("vpipe used %.1f cores on a %d-CPU machine\n%s", used, runtime.NumCPU(), log)
	}
}
