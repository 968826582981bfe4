package stages_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/pipeline"
	localsink "github.com/vpipe/vpipe/sinks/local"
	localsrc "github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/stages"
)

func cfg() *config.Config {
	return &config.Config{
		Sampling: config.Sampling{Step: 1, Autorotate: true, CopyAnnotations: true, Resize: config.Resize{Filter: "bicubic"}},
		Stages: config.Stages{
			Decode: config.Decode{Workers: 2, Queue: 2},
			Resize: config.Pool{Workers: 2, Queue: 2},
			Encode: config.Encode{Workers: 2, Queue: 2, Compression: 1},
			Write:  config.Pool{Workers: 2, Queue: 2},
		},
	}
}

type quiet struct{}

func (quiet) VideoStart(string, int, int)       {}
func (quiet) FrameDone(string)                  {}
func (quiet) VideoDone(string, int, int, error) {}

// source of two corpus videos in one folder
func twoVideos(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"h264_bframes", "vp9"} {
		v := testcorpus.Get(name)
		b, err := os.ReadFile(testcorpus.Path(t, v))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, v.File), b, 0o644)
	}
	return dir
}

// slowSink delays every Put and can fail one video's nth image.
type slowSink struct {
	*localsink.Sink
	delay  time.Duration
	failOn string // video name
	failAt int
	mu     sync.Mutex
	seen   map[string]int
	puts   atomic.Int64
}

func (s *slowSink) Put(ctx context.Context, img *core.Image) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.seen[img.Item.Name]++
	n := s.seen[img.Item.Name]
	s.mu.Unlock()
	if img.Item.Name == s.failOn && n == s.failAt {
		return errors.New("disk full (simulated)")
	}
	s.puts.Add(1)
	return s.Sink.Put(ctx, img)
}

// TestCancelLeavesNothingRunning: cancelling a busy run returns promptly and
// leaves no goroutine behind, through every real stage (FFmpeg decode included).
func TestCancelLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	src, _ := localsrc.New(twoVideos(t))
	sink := &slowSink{Sink: localsink.New(t.TempDir()), delay: 5 * time.Millisecond, seen: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	r := &stages.Runner{Config: cfg(), Source: src, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() {
		for sink.puts.Load() < 10 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := r.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	if n := sink.puts.Load(); n >= 135 {
		t.Fatalf("the run was not cut short (%d images)", n)
	}
}

// TestFailingSinkRollsBackOneVideo: a write error in the middle of one video
// fails that video and removes what it wrote; the other video is complete.
func TestFailingSinkRollsBackOneVideo(t *testing.T) {
	out := t.TempDir()
	src, _ := localsrc.New(twoVideos(t))
	sink := &slowSink{Sink: localsink.New(out), failOn: "h264_bframes.mp4", failAt: 30, seen: map[string]int{}}
	r := &stages.Runner{Config: cfg(), Source: src, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.VideosOK != 1 || sum.VideosFailed != 1 || sum.Written != 60 || len(sum.Failures) != 1 ||
		sum.Failures[0].Video != "ds0/h264_bframes.mp4" {
		t.Fatalf("%+v", sum)
	}
	if _, err := os.Stat(filepath.Join(out, "ds0/datasets/h264_bframes.mp4")); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(out, "ds0/datasets/h264_bframes.mp4/img"))
		t.Fatalf("the failed video left %d images", len(entries))
	}
	entries, _ := os.ReadDir(filepath.Join(out, "ds0/datasets/vp9.webm/img"))
	if len(entries) != 60 {
		t.Fatalf("the other video has %d of 60 images", len(entries))
	}
}

func copyVideo(t *testing.T, corpus, dst string) {
	t.Helper()
	b, err := os.ReadFile(testcorpus.Path(t, testcorpus.Get(corpus)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func countImages(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && filepath.Base(filepath.Dir(p)) == "img" {
			n++
		}
		return nil
	})
	return n
}

// TestPanicInEveryStage: a panic in any stage, one worker each (so nobody else
// reads that stage's input), ends the run with an error naming the stage and
// the video, counts what was written, and leaves no goroutine behind.
func TestPanicInEveryStage(t *testing.T) {
	for _, stage := range []string{"enumerate", "decode", "resize", "encode", "write"} {
		t.Run(stage, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			at := map[string]int64{"enumerate": 2, "decode": 1}[stage] // the second video; the first one
			if at == 0 {
				at = 5 // the first video's 5th frame
			}
			var n atomic.Int64
			stages.SetTestHook(func(s string) {
				if s == stage && n.Add(1) == at {
					panic("boom")
				}
			})
			defer stages.SetTestHook(nil)
			c := cfg()
			c.Stages.Decode.Workers, c.Stages.Resize.Workers, c.Stages.Encode.Workers, c.Stages.Write.Workers = 1, 1, 1, 1
			out := t.TempDir()
			src, _ := localsrc.New(twoVideos(t))
			r := &stages.Runner{Config: c, Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			sum, err := r.Run(context.Background())
			var se *pipeline.StageError
			if !errors.As(err, &se) || se.Stage != stage || !strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "boom") {
				t.Fatalf("Run = %v", err)
			}
			if stage != "enumerate" && !strings.Contains(err.Error(), "on ds0/h264_bframes.mp4") {
				t.Fatalf("the error does not name the video: %v", err)
			}
			if got := countImages(t, out); sum.Written != got || sum.VideosOK != 0 || sum.VideosInterrupted+sum.VideosNotStarted != 2 {
				t.Fatalf("%d images on disk, summary %+v", got, sum)
			}
		})
	}
}

// TestCancelCountsWhatWasWritten: a run stopped mid-way counts the images it
// wrote and tells its videos as interrupted (or not started), never ok.
func TestCancelCountsWhatWasWritten(t *testing.T) {
	out := t.TempDir()
	src, _ := localsrc.New(twoVideos(t))
	sink := &slowSink{Sink: localsink.New(out), delay: 2 * time.Millisecond, seen: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := cfg()
	c.Stages.Decode.Workers = 1 // the second video waits for the first
	r := &stages.Runner{Config: c, Source: src, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() {
		for sink.puts.Load() < 20 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	sum, err := r.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	got := countImages(t, out)
	if got < 20 || got >= 75 || sum.Written != got || sum.VideosOK != 0 || sum.VideosFailed != 0 ||
		sum.VideosInterrupted != 1 || sum.VideosNotStarted != 1 {
		t.Fatalf("%d images on disk, summary %+v", got, sum)
	}
}

// TestClashingDestinations: a video directly in the source folder and one of
// the same name in a sub-folder ds0 both map to dataset ds0/a.mp4; both are
// refused before anything is written, each naming both files, and the others go on.
func TestClashingDestinations(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	copyVideo(t, "h264_bframes", filepath.Join(dir, "a.mp4"))
	copyVideo(t, "h264_nob", filepath.Join(dir, "ds0", "a.mp4"))
	copyVideo(t, "vp9", filepath.Join(dir, "b.webm"))
	src, _ := localsrc.New(dir)
	r := &stages.Runner{Config: cfg(), Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.VideosOK != 1 || sum.VideosFailed != 2 || sum.Written != 60 || len(sum.Failures) != 2 {
		t.Fatalf("%+v", sum)
	}
	a, b := filepath.Join(dir, "a.mp4"), filepath.Join(dir, "ds0", "a.mp4")
	for i, f := range sum.Failures {
		me, other := a, b
		if i == 1 {
			me, other = b, a
		}
		if msg := f.Err.Error(); !strings.HasPrefix(msg, me+": ") || !strings.Contains(msg, other) || !strings.Contains(msg, "ds0/a.mp4") {
			t.Errorf("failure %d: %v", i, f.Err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "ds0/datasets/a.mp4")); !os.IsNotExist(err) {
		t.Fatalf("a refused video's dataset exists: %v", err)
	}
}

// TestNoFrameSelected: a run whose selection is empty (start past the end)
// warns, creates no dataset and records no settings, so a run with another
// size writes the video afterwards.
func TestNoFrameSelected(t *testing.T) {
	out := t.TempDir()
	src, _ := localsrc.New(twoVideos(t))
	var log strings.Builder
	c := cfg()
	c.Sampling.Start = 1000
	r := &stages.Runner{Config: c, Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(&log, nil))}
	sum, err := r.Run(context.Background())
	if err != nil || sum.VideosOK != 2 || sum.Written != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	if strings.Count(log.String(), `msg="no frame selected" video=ds0/`) != 2 {
		t.Fatalf("no warning:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(out, "ds0")); !os.IsNotExist(err) {
		t.Fatalf("an empty selection created its dataset: %v", err)
	}
	c = cfg()
	c.Sampling.Resize.Width = 64
	r = &stages.Runner{Config: c, Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if sum, err := r.Run(context.Background()); err != nil || sum.VideosOK != 2 || sum.Written != 135 {
		t.Fatalf("the next run: %+v %v", sum, err)
	}
}

// TestVideoDatasetIsAlsoASourceDataset: a video's dataset ds0/a.mp4 is also the
// source dataset of ds0/a.mp4/b.webm (a folder a.mp4 in a sub-folder ds0): the
// two would share one dataset folder and its custom data, so both are refused.
func TestVideoDatasetIsAlsoASourceDataset(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	a, b := filepath.Join(dir, "a.mp4"), filepath.Join(dir, "ds0", "a.mp4", "b.webm")
	copyVideo(t, "h264_bframes", a)
	copyVideo(t, "vp9", b)
	src, _ := localsrc.New(dir)
	r := &stages.Runner{Config: cfg(), Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, err := r.Run(context.Background())
	if err != nil || sum.VideosFailed != 2 || sum.Written != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	for _, f := range sum.Failures {
		if msg := f.Err.Error(); !strings.Contains(msg, a) || !strings.Contains(msg, b) {
			t.Errorf("%s: %v does not name both files", f.Video, f.Err)
		}
	}
	if n := countImages(t, out); n != 0 {
		t.Fatalf("%d images written", n)
	}
}

// TestReservedDatasetNames: source folders named like the image project's
// layout (img/) or its files (custom_data.json/) cannot be top-level datasets:
// their videos fail, naming the dataset, before anything is written for them.
func TestReservedDatasetNames(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	copyVideo(t, "h264_bframes", filepath.Join(dir, "img", "a.mp4"))
	copyVideo(t, "vp9", filepath.Join(dir, "custom_data.json", "b.webm"))
	src, _ := localsrc.New(dir)
	r := &stages.Runner{Config: cfg(), Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, err := r.Run(context.Background())
	if err != nil || sum.VideosFailed != 2 || len(sum.Failures) != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	for _, f := range sum.Failures {
		ds := strings.Split(f.Video, "/")[0]
		if msg := f.Err.Error(); !strings.HasPrefix(msg, `dataset "`+ds+`": the name is reserved`) {
			t.Errorf("%s: %v", f.Video, f.Err)
		}
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.IsDir() {
			t.Errorf("%s was created", e.Name())
		}
	}
}

// TestFailedThenStoppedIsRolledBack: a video whose write fails, then a run
// stopped before that video's frames drained, is still a failure: reported as
// one and rolled back, never counted as interrupted with its images left.
func TestFailedThenStoppedIsRolledBack(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := t.TempDir()
	dir := t.TempDir()
	copyVideo(t, "h264_bframes", filepath.Join(dir, "a.mp4"))
	src, _ := localsrc.New(dir)
	sink := &slowSink{Sink: localsink.New(out), failOn: "a.mp4", failAt: 10, seen: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var writes atomic.Int64
	stages.SetTestHook(func(s string) {
		if s == "write" && writes.Add(1) == 11 { // the write after the failed one
			cancel()
		}
	})
	defer stages.SetTestHook(nil)
	c := cfg()
	c.Stages.Write.Workers = 1
	r := &stages.Runner{Config: c, Source: src, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, _ := r.Run(ctx)
	if got := countImages(t, out); got != 0 || sum.VideosFailed != 1 || sum.VideosInterrupted != 0 || sum.Written != 0 ||
		len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].Err.Error(), "disk full") {
		t.Fatalf("%d images on disk, summary %+v", got, sum)
	}
}

// TestPoolsFailReleaseSink: a run whose pools cannot be made (an unknown
// scale filter) after the sink began lets go of the sink: its lock file is
// gone and the next run may write.
func TestPoolsFailReleaseSink(t *testing.T) {
	src, err := localsrc.New(twoVideos(t))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	c := cfg()
	c.Sampling.Resize.Filter = "no-such-filter"
	r := &stages.Runner{Config: c, Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := r.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no-such-filter") {
		t.Fatalf("run with an unknown filter: %v", err)
	}
	if locks, _ := filepath.Glob(filepath.Join(out, localsink.LockPrefix+"*")); len(locks) != 0 {
		t.Fatalf("lock file(s) left: %v", locks)
	}
	r = &stages.Runner{Config: cfg(), Source: src, Sink: localsink.New(out), Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatalf("the next run: %v", err)
	}
}

// downErr is a sink call whose server stopped answering.
type downErr struct{}

func (downErr) Error() string     { return "no answer from http://sink.example (simulated)" }
func (downErr) Unreachable() bool { return true }

// downSink fails from the nth image on with an error whose server stopped
// answering; it counts the calls made after that.
type downSink struct {
	*localsink.Sink
	at    int64
	puts  atomic.Int64
	after atomic.Int64
}

func (s *downSink) Put(ctx context.Context, img *core.Image) error {
	time.Sleep(5 * time.Millisecond) // the writes hold the decoding back
	if s.puts.Add(1) >= s.at {
		s.after.Add(1)
		return fmt.Errorf("PutObject %s: %w", img.Name, downErr{})
	}
	return s.Sink.Put(ctx, img)
}

// TestUnreachableSinkStopsRun: a video failing because the sink's server
// stopped answering stops the run: no other video is started, the run's error
// says why, the failed video is rolled back, and the videos not reached are
// counted as not started.
func TestUnreachableSinkStopsRun(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	b, err := os.ReadFile(testcorpus.Path(t, testcorpus.Get("h264_bframes")))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a.mp4", "b.mp4", "c.mp4"} {
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	src, _ := localsrc.New(dir)
	sink := &downSink{Sink: localsink.New(out), at: 5}
	c := cfg()
	c.Stages.Decode.Workers, c.Stages.Write.Workers = 1, 1
	r := &stages.Runner{Config: c, Source: src, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sum, err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stopped answering") || !strings.Contains(err.Error(), "ds0/a.mp4") ||
		errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want the run stopped naming the video and why", err)
	}
	if sum.VideosFailed != 1 || sum.VideosOK != 0 || sum.VideosNotStarted < 1 || sum.VideosFailed+sum.VideosInterrupted+sum.VideosNotStarted != 3 {
		t.Fatalf("%d failed, %d ok, %d interrupted, %d not started", sum.VideosFailed, sum.VideosOK, sum.VideosInterrupted, sum.VideosNotStarted)
	}
	if _, err := os.Stat(filepath.Join(out, "ds0/datasets/a.mp4/img")); !os.IsNotExist(err) {
		t.Fatalf("the failed video was not rolled back: %v", err)
	}
	t.Logf("%d write calls after the server stopped answering; %+v", sink.after.Load(), err)
}
