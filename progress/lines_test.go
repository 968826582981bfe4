package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// noTick never fires: the tests below call progress themselves, as of a time
// they choose, so every line is in a known order.
var noTick = make(chan time.Time)

// TestProgressLines: without a terminal, each tick logs, per video with frames
// still to write, frames done of those to write, frames/s and the ETA as of the
// tick's time; finished videos are not listed. The log file gets the same lines.
func TestProgressLines(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	var out, file bytes.Buffer
	r := Start(Options{Out: &out, File: &file, Tick: noTick, Now: func() time.Time { return now }})
	tick := r.(*reporter).lines.progress
	r.VideoStart("ds0/long.mp4", 100, 7)
	r.VideoStart("ds0/short.mp4", 2, 0)
	r.FrameDone("ds0/short.mp4")
	r.FrameDone("ds0/short.mp4")
	for i := 0; i < 30; i++ {
		r.FrameDone("ds0/long.mp4")
	}
	tick(t0.Add(10 * time.Second))
	r.VideoDone("ds0/short.mp4", 2, 0, nil)
	for i := 0; i < 20; i++ {
		r.FrameDone("ds0/long.mp4")
	}
	r.VideoStart("ds0/stuck.mp4", 5, 0)
	tick(t0.Add(20 * time.Second))
	now = t0.Add(40 * time.Second)
	r.VideoDone("ds0/long.mp4", 50, 7, errors.New("boom"))
	tick(t0.Add(30 * time.Second))
	r.Close()

	want := []string{
		`level=INFO msg=video video=ds0/long.mp4 frames=100 already_there=7`,
		`level=INFO msg=video video=ds0/short.mp4 frames=2 already_there=0`,
		`level=INFO msg=progress video=ds0/long.mp4 done=30 to_write=100 fps=3 eta=23s`,
		`level=INFO msg="run progress" videos_done=0 videos_failed=0 written=32 fps=3.2 elapsed=10s`,
		`level=INFO msg="video done" video=ds0/short.mp4 written=2 skipped=0 elapsed=0s`,
		`level=INFO msg=video video=ds0/stuck.mp4 frames=5 already_there=0`,
		`level=INFO msg=progress video=ds0/long.mp4 done=50 to_write=100 fps=2.5 eta=20s`,
		`level=INFO msg=progress video=ds0/stuck.mp4 done=0 to_write=5 fps=0 eta=unknown`,
		`level=INFO msg="run progress" videos_done=1 videos_failed=0 written=52 fps=2.6 elapsed=20s`,
		`level=ERROR msg="video failed" video=ds0/long.mp4 written=50 err=boom`,
		`level=INFO msg=progress video=ds0/stuck.mp4 done=0 to_write=5 fps=0 eta=unknown`,
		`level=INFO msg="run progress" videos_done=2 videos_failed=1 written=52 fps=1.7 elapsed=30s`,
	}
	for name, buf := range map[string]*bytes.Buffer{"terminal": &out, "log file": &file} {
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			got = append(got, l[strings.Index(l, " level=")+1:]) // drop the wall-clock time
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s lines:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestProgressTicker: the ticker's ticks reach the progress lines.
func TestProgressTicker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := make(chan time.Time)
	var out bytes.Buffer
	r := Start(Options{Out: &out, Tick: tick, Now: func() time.Time { return t0 }})
	r.VideoStart("a", 10, 0)
	r.FrameDone("a")
	tick <- t0.Add(2 * time.Second)
	r.Close() // waits for the tick's lines
	if !strings.Contains(out.String(), "msg=progress video=a done=1 to_write=10 fps=0.5 eta=18s") {
		t.Fatalf("no progress line:\n%s", out.String())
	}
}

// TestProgressJSON: JSON makes every line a JSON object, the progress lines'
// fields included.
func TestProgressJSON(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := Start(Options{Out: &out, JSON: true, Tick: noTick, Now: func() time.Time { return t0 }})
	r.Log().Warn("label left out", "video", "a", "why", "reasons")
	r.VideoStart("a", 10, 0)
	r.FrameDone("a")
	r.(*reporter).lines.progress(t0.Add(2 * time.Second))
	r.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	var run struct {
		Msg     string
		Done    int `json:"videos_done"`
		Written int
		Elapsed string
	}
	if err := json.Unmarshal([]byte(lines[3]), &run); err != nil || run.Msg != "run progress" || run.Written != 1 || run.Elapsed != "2s" {
		t.Fatalf("run progress line %s: %+v %v", lines[3], run, err)
	}
	var p struct {
		Msg, Video, Eta string
		Done            int
		ToWrite         int `json:"to_write"`
		Fps             float64
	}
	if err := json.Unmarshal([]byte(lines[2]), &p); err != nil || p.Msg != "progress" || p.Video != "a" ||
		p.Done != 1 || p.ToWrite != 10 || p.Fps != 0.5 || p.Eta != "18s" {
		t.Fatalf("progress line %s: %+v %v", lines[2], p, err)
	}
	var w map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &w); err != nil || w["level"] != "WARN" || w["why"] != "reasons" {
		t.Fatalf("warning line %s: %v", lines[0], err)
	}
}

// TestTerminalLogLines: on a terminal, log lines are written through the bars'
// container (so mpb prints them above the bars); the log file gets them and the
// per-video lines the bars stand for on the terminal.
func TestTerminalLogLines(t *testing.T) {
	var term, file bytes.Buffer
	r := Start(Options{Out: &term, TTY: true, File: &file, Tick: noTick})
	r.Log().Info("run", "source", "local src", "sink", "local out")
	r.VideoStart("a", 1, 0)
	r.Log().Warn("label left out", "video", "a", "why", "reasons")
	r.FrameDone("a")
	r.VideoDone("a", 1, 0, nil)
	r.Close()
	r.Log().Info("after the bars") // straight to the terminal once they are gone
	for _, w := range []string{`msg=run source="local src" sink="local out"`, `level=WARN msg="label left out" video=a why=reasons`, "after the bars"} {
		if !strings.Contains(term.String(), w) {
			t.Errorf("terminal lacks %q:\n%s", w, term.String())
		}
	}
	if strings.Contains(term.String(), `msg="video done"`) {
		t.Errorf("the per-video lines belong in the log file, the terminal has bars:\n%s", term.String())
	}
	for _, w := range []string{"msg=run", "msg=video video=a", `msg="label left out"`, `msg="video done" video=a`, "after the bars"} {
		if !strings.Contains(file.String(), w) {
			t.Errorf("log file lacks %q:\n%s", w, file.String())
		}
	}
}

// TestRunProgressLine: without a terminal, each tick also logs the run's own
// totals, so a run of many short videos says how far it is even when no video
// is in progress at the tick: videos done (of those the run has, when told),
// failed, frames written, frames/s and time since the start.
func TestRunProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := Start(Options{Out: &out, Tick: noTick, Now: func() time.Time { return t0 }})
	tick := r.(*reporter).lines.progress
	vc, ok := r.(interface{ Videos(int) })
	if !ok {
		t.Fatal("the reporter cannot be told how many videos the run has")
	}
	vc.Videos(5000)
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("ds0/v%d.mp4", i)
		r.VideoStart(id, 2, 0)
		r.FrameDone(id)
		r.FrameDone(id)
		var err error
		if i == 1 {
			err = errors.New("boom")
		}
		r.VideoDone(id, 2, 0, err)
	}
	tick(t0.Add(48 * time.Second))
	r.Close()
	want := `level=INFO msg="run progress" videos_done=3 videos_total=5000 videos_failed=1 written=6 fps=0.1 elapsed=48s`
	if !strings.Contains(out.String(), want) {
		t.Fatalf("no run progress line %q in:\n%s", want, out.String())
	}
}
