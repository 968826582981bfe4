package stages_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// batchSink is a local sink taken through the batch stages (batch, upload,
// annotate), as a Supervisely sink is: Upload puts a batch's images.
type batchSink struct {
	*localsink.Sink
	uploads atomic.Int64
}

func (s *batchSink) Upload(ctx context.Context, b *core.Batch) ([]core.Registered, error) {
	s.uploads.Add(1)
	var regs []core.Registered
	for i, img := range b.Images {
		if err := s.Put(ctx, img); err != nil {
			return nil, err
		}
		regs = append(regs, core.Registered{Image: img, ID: int64(i)})
	}
	return regs, nil
}

func (s *batchSink) Annotate(context.Context, []string, []core.Registered, bool) (int, error) {
	return 0, nil
}

// Features offer the batch calls: the runner takes the sink through the batch stages.
func (s *batchSink) Features() core.SinkFeatures {
	return core.SinkFeatures{Batch: &core.BatchOps{Upload: s.Upload, Annotate: s.Annotate, Reannotate: s.Reannotate}}
}

func (s *batchSink) Reannotate(context.Context, []string) (map[string]int64, bool, error) {
	return nil, false, nil
}

func batchCfg() *config.Config {
	c := cfg()
	c.Stages.Batch = config.Batch{BatchSize: 50, Queue: 2}
	c.Stages.Upload = config.Pool{Workers: 1, Queue: 2}
	c.Stages.Annotate = config.Pool{Workers: 1, Queue: 2}
	return c
}

// A video that fails while decoding, its first images waiting in the batch
// stage for a batch to fill, is settled at once: its lease is told how it
// ended before the feed hands out another video (a worker whose queue has
// nothing more would otherwise hold the failed video until it stops).
func TestBatchFailedVideoSettledAtOnce(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/good.mp4")
	// h264_avi with the keyframe of frames 24-35 zeroed: frames 0-23 decode, then the video fails.
	damaged := testcorpus.ZeroPacket(t, testcorpus.Path(t, testcorpus.Get("h264_avi")), 24)
	copyFile(t, damaged, filepath.Join(src, "a", "bad.avi"))
	out := t.TempDir()
	f := &fakeFeed{videos: [][2]string{{"a", "bad.avi"}, {"a", "good.mp4"}}, ended: map[string]core.Outcome{},
		onDisk: map[string]int{}, out: out}
	settledFirst := false
	f.next = func(n int) {
		if n != 2 {
			return
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) { // a hang guard
			f.mu.Lock()
			_, ok := f.ended["a/bad.avi"]
			f.mu.Unlock()
			if ok {
				settledFirst = true
				return
			}
		}
	}
	s, err := localsrc.New(src)
	if err != nil {
		t.Fatal(err)
	}
	sink := &batchSink{Sink: localsink.New(out)}
	r := &stages.Runner{Config: batchCfg(), Source: s, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Feed: f}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bad := f.ended["a/bad.avi"]
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "frame 24") {
		t.Fatalf("the damaged video ended %+v, want an error naming frame 24", bad)
	}
	if !settledFirst {
		t.Fatal("the failed video was not settled until another video's images reached the batch stage")
	}
	if o := f.ended["a/good.mp4"]; o.Err != nil || o.Written != 10 || sum.VideosOK != 1 || sum.VideosFailed != 1 {
		t.Fatalf("good video %+v, summary %+v", o, sum)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A panic in the batch stage stops the run like one in any other stage: an
// error naming the stage and the video, and no goroutine left behind.
func TestPanicInBatchStage(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var n atomic.Int64
	stages.SetTestHook(func(s string) {
		if s == "batch" && n.Add(1) == 5 {
			panic("boom")
		}
	})
	defer stages.SetTestHook(nil)
	c := batchCfg()
	c.Stages.Decode.Workers = 1
	src, _ := localsrc.New(twoVideos(t))
	r := &stages.Runner{Config: c, Source: src, Sink: &batchSink{Sink: localsink.New(t.TempDir())}, Reporter: quiet{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		_, err = r.Run(context.Background())
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a hang, not a timing assertion
		t.Fatal("the run did not end after a panic in the batch stage")
	}
	var se *pipeline.StageError
	if !errors.As(err, &se) || se.Stage != "batch" || !strings.Contains(err.Error(), "boom") ||
		!strings.Contains(err.Error(), "on ds0/h264_bframes.mp4") {
		t.Fatalf("Run = %v, want a panic of stage batch naming the video", err)
	}
}
