package stages_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testcorpus"
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
