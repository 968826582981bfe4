package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

func TestSelectionKeys(t *testing.T) {
	dir := t.TempDir()
	ff := filepath.Join(dir, "frames.json")
	os.WriteFile(ff, []byte(`{"a.mp4": [1, 2], "ds/b.mp4": {"times": [1.5, "00:00:02.000"]}}`), 0o644)
	p := write(t, "source: {path: "+dir+"}\nsampling:\n  times: [1.5, \"00:01:12.250\", 3]\n  scene_threshold: 0.2\n  dedup: {distance: 6}\n")
	c, err := config.Load(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Sampling.Times, ",") != "1.5,00:01:12.250,3" || c.Sampling.SceneThreshold != 0.2 ||
		c.Sampling.Dedup.Distance == nil || *c.Sampling.Dedup.Distance != 6 || c.Sampling.FPS != 0 {
		t.Fatalf("%+v", c.Sampling)
	}
	c, err = config.Load(p, []string{"sampling.times=[]", "sampling.fps=2.5", "sampling.frames_file=" + ff}, []string{"VPIPE_SAMPLING_DEDUP_DISTANCE=0"})
	if err == nil {
		t.Fatal("fps with frames_file: want a conflict")
	}
	if e := err.Error(); !strings.Contains(e, `sampling.frames_file: "`+ff+`" cannot be used with sampling.fps (2.5): choose frames one way`) {
		t.Fatalf("conflict not named: %s", e)
	}
	c, err = config.Load(p, []string{"sampling.times=[]", "sampling.fps=2.5"}, []string{"VPIPE_SAMPLING_DEDUP_DISTANCE=0"})
	if err != nil || c.Sampling.FPS != 2.5 || *c.Sampling.Dedup.Distance != 0 || len(c.Sampling.Times) != 0 {
		t.Fatalf("%+v %v", c, err)
	}

	bad := write(t, `source: {path: `+dir+`}
sampling:
  fps: -1
  max_fps: 4
  frames: [3, -2]
  times: ["1:75", 2]
  keyframes_only: true
  scene_threshold: 1.5
  dedup: {distance: 64}
  frames_file: `+filepath.Join(dir, "nope.json")+`
`)
	e := problems(t, mustFail(config.Load(bad, nil, nil)))
	for _, want := range []string{
		"sampling.fps: must be a rate in frames per second, 0 (off) to 1000, got -1",
		"sampling.max_fps: 4 cannot be used with sampling.fps (-1)",
		"sampling.frames: item 1: a frame index must be >= 0, got -2",
		`sampling.times: item 0: time "1:75": seconds must be below 60`,
		"sampling.keyframes_only: true cannot be used with sampling.fps (-1)",
		"sampling.scene_threshold: must be 0–1 (0 = off), got 1.5",
		"sampling.dedup.distance: must be 0–63, got 64",
		"sampling.frames_file: open " + filepath.Join(dir, "nope.json") + ": no such file",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("missing %q in:\n%s", want, e)
		}
	}
	for text, want := range map[string]string{
		"sampling: {times: [true]}":           `sampling.times: want a list of times (seconds or "HH:MM:SS.mmm"), got [true] (item 0: true)`,
		"sampling: {frames: [3, 1.5, x]}":     `sampling.frames: want a list of integers, got [3, 1.5, "x"] (item 1: 1.5)`,
		"sampling: {times: [1, {a: 2}]}":      `sampling.times: want a list of times (seconds or "HH:MM:SS.mmm"), got [1, a section] (item 1: a section)`,
		"sampling: {fps: fast}":               `sampling.fps: want a number, got "fast"`,
		"sampling: {frames: [1], times: [2]}": "sampling.times: [2] cannot be used with sampling.frames ([1])",
	} {
		e := problems(t, mustFail(config.Load(write(t, "source: {path: "+dir+"}\n"+text+"\n"), nil, nil)))
		if !strings.Contains(e, want) {
			t.Errorf("%s: missing %q in:\n%s", text, want, e)
		}
	}
	os.WriteFile(ff, []byte(`{"a.mp4": [1, 2.5]}`), 0o644)
	e = problems(t, mustFail(config.Load(write(t, "source: {path: "+dir+"}\nsampling: {frames_file: "+ff+"}\n"), nil, nil)))
	if !strings.Contains(e, `sampling.frames_file: frames_file "`+ff+`" entry "a.mp4": want a list of frame indices`) {
		t.Errorf("bad frames file: %s", e)
	}
}
