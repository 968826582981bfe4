package stages_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	localsink "github.com/vpipe/vpipe/sinks/local"
	localsrc "github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/stages"
)

// stuckSink blocks the writes of one video, ignoring their context (a sink
// write that never returns), until release is closed.
type stuckSink struct {
	*localsink.Sink
	video   string
	release chan struct{}
}

func (s *stuckSink) Put(ctx context.Context, img *core.Image) error {
	if img.Item.Name == s.video {
		<-s.release
	}
	return s.Sink.Put(ctx, img)
}

// A leased video whose sink write hangs is given up by the stall watchdog:
// its lease is settled once, as a failed try with the stall error, while the
// write is still blocked; a healthy video before it is not stalled. (A
// stuck sink also stalls the videos whose frames queue behind the stuck
// writes: they are retried as well.)
func TestStallWatchdogStuckSink(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4")
	out := t.TempDir()
	sink := &stuckSink{Sink: localsink.New(out), video: "v2.mp4", release: make(chan struct{})}
	f := &fakeFeed{videos: [][2]string{{"a", "v1.mp4"}, {"a", "v2.mp4"}},
		ended: map[string]core.Outcome{}, onDisk: map[string]int{}, out: out}
	// v2 is handed out once v1 is settled: a stuck write holds a write
	// worker, so frames of another video queued behind it would stall too.
	f.next = func(n int) {
		for n == 2 {
			f.mu.Lock()
			_, ok := f.ended["a/v1.mp4"]
			f.mu.Unlock()
			if ok {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	s, err := localsrc.New(src)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg()
	c.Stages.Decode.Workers = 1
	r := &stages.Runner{Config: c, Source: s, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Feed: f, StallTimeout: 2 * time.Second}
	ran := make(chan error, 1)
	go func() { _, err := r.Run(context.Background()); ran <- err }()
	deadline := time.After(2 * time.Minute) // a hang, not a timing assertion
	for {
		f.mu.Lock()
		o, ok := f.ended["a/v2.mp4"]
		f.mu.Unlock()
		if ok {
			var st *stages.ErrStalled
			if !errors.As(o.Err, &st) || o.Err.Error() != "stalled: no progress for 2s" || o.Interrupted || o.Permanent {
				t.Fatalf("v2: %+v", o)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatal("the stuck video was never given up")
		case <-time.After(20 * time.Millisecond):
		}
	}
	close(sink.release) // the write returns: the run can end
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if o := f.ended["a/v1.mp4"]; o.Err != nil || o.Written != 10 {
		t.Fatalf("v1: %+v", o)
	}
	if len(f.ended) != 2 { // (fakeLease panics on a second Done)
		t.Fatalf("ended: %v", f.ended)
	}
}
