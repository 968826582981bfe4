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

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	localsink "github.com/vpipe/vpipe/sinks/local"
	localsrc "github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/stages"
)

// oneFeed hands out one video once, and tells how it ended.
type oneFeed struct {
	wait    chan struct{} // closed when it may hand the video out
	given   atomic.Bool
	outcome core.Outcome
	onDisk  int // images of the video's dataset when it was settled
	dir     string
	settled chan struct{}
}

func (f *oneFeed) Next(ctx context.Context) (core.Lease, bool, error) {
	if f.given.Swap(true) {
		return nil, false, nil
	}
	select {
	case <-f.wait:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	return f, true, nil
}

func (f *oneFeed) Video() ([]string, string) { return []string{"a"}, "v1.mp4" }

func (f *oneFeed) Done(o core.Outcome) {
	f.outcome = o
	e, _ := os.ReadDir(filepath.Join(f.dir, "img"))
	f.onDisk = len(e)
	close(f.settled)
}

// gatedSink runs a hook before each Put, given the Put's number (from 1).
type gatedSink struct {
	core.Sink
	n    atomic.Int64
	gate func(n int64) error
}

func (s *gatedSink) Put(ctx context.Context, img *core.Image) error {
	if err := s.gate(s.n.Add(1)); err != nil {
		return err
	}
	return s.Sink.Put(ctx, img)
}

// Two workers holding one video at once (the queue redelivered it after an
// ack-wait expiry while the first still ran): the first fails after the
// second took it and skipped the images already there. The failing try must
// not delete images the other counts: when the other settles its video as
// done, every image is on disk.
func TestFeedDuplicateFailureKeepsOthersImages(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4")
	out := t.TempDir()
	dir, _ := localsink.DatasetDir(out, []string{"a", "v1.mp4"})
	a := &oneFeed{wait: make(chan struct{}), dir: dir, settled: make(chan struct{})}
	b := &oneFeed{wait: make(chan struct{}), dir: dir, settled: make(chan struct{})}
	close(a.wait)
	bWrites := make(chan struct{})
	var bOnce sync.Once
	hang := func(ch chan struct{}) {
		select {
		case <-ch:
		case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		}
	}
	// A writes 3 images, lets B take the video, waits until B writes, then
	// fails at its 6th image.
	worker := func() core.Sink { // a worker's sink (the wrapper hides SetWriter from the runner)
		l := localsink.New(out)
		l.SetWriter(core.Writer{Role: "queue worker", Shared: true})
		return l
	}
	aSink := &gatedSink{Sink: worker(), gate: func(n int64) error {
		switch {
		case n == 4:
			close(b.wait)
			hang(bWrites)
		case n == 6:
			return errors.New("disk full (simulated)")
		}
		return nil
	}}
	// B writes the rest; its last image waits until A has settled.
	bSink := &gatedSink{Sink: worker(), gate: func(n int64) error {
		bOnce.Do(func() { close(bWrites) })
		if n == 7 {
			hang(a.settled)
		}
		return nil
	}}
	run := func(f *oneFeed, sink core.Sink) {
		s, err := localsrc.New(src)
		if err != nil {
			t.Error(err)
			return
		}
		c := cfg()
		c.Stages.Write.Workers = 1
		r := &stages.Runner{Config: c, Source: s, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Feed: f}
		if _, err := r.Run(context.Background()); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); run(a, aSink) }()
	go func() { defer wg.Done(); run(b, bSink) }()
	wg.Wait()
	if a.outcome.Err == nil {
		t.Fatalf("A did not fail: %+v", a.outcome)
	}
	if o := b.outcome; o.Err != nil || o.Interrupted || o.Skipped != 3 || o.Written != 7 {
		t.Fatalf("B: %+v", o)
	}
	if b.onDisk != 10 {
		t.Fatalf("B settled its video as done with %d of its 10 images on disk: A's roll-back deleted images B counted", b.onDisk)
	}
}
