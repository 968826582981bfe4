package stages_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	localsink "github.com/vpipe/vpipe/sinks/local"
	localsrc "github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/stages"
)

// fakeFeed hands out videos by name and records how each ended, with the
// images its dataset held at that moment.
type fakeFeed struct {
	mu     sync.Mutex
	videos [][2]string // dataset, name
	ended  map[string]core.Outcome
	onDisk map[string]int
	out    string
	next   func(n int) // called before the n-th video is handed out
	n      int
}

type fakeLease struct {
	f      *fakeFeed
	ds     []string
	name   string
	doneMu sync.Mutex
	done   int
}

func (l *fakeLease) Video() ([]string, string) { return l.ds, l.name }

func (l *fakeLease) Done(o core.Outcome) {
	l.doneMu.Lock()
	l.done++
	l.doneMu.Unlock()
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	id := strings.Join(append(append([]string{}, l.ds...), l.name), "/")
	if _, ok := l.f.ended[id]; ok {
		panic("Done twice for " + id)
	}
	l.f.ended[id] = o
	dir, _ := localsink.DatasetDir(l.f.out, append(append([]string{}, l.ds...), l.name))
	e, _ := os.ReadDir(filepath.Join(dir, "img"))
	l.f.onDisk[id] = len(e)
}

func (f *fakeFeed) Next(ctx context.Context) (core.Lease, bool, error) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if f.next != nil {
		f.next(n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	if len(f.videos) == 0 {
		return nil, false, nil
	}
	v := f.videos[0]
	f.videos = f.videos[1:]
	var ds []string
	if v[0] != "" {
		ds = strings.Split(v[0], "/")
	}
	return &fakeLease{f: f, ds: ds, name: v[1]}, true, nil
}

func feedRun(t *testing.T, ctx context.Context, f *fakeFeed, src string, sink core.Sink) (stages.Summary, error) {
	s, err := localsrc.New(src)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg()
	r := &stages.Runner{Config: c, Source: s, Sink: sink, Reporter: quiet{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Feed: f}
	return r.Run(ctx)
}

// A run with a Feed samples exactly the videos it is handed; each lease is
// settled once, as done only when all the video's images are on disk; a
// video not in the source, and one whose destination clashes, end as
// permanent failures; the run ends when the feed has none left.
func TestFeed(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4", "b/v3.mp4", "top.mp4", "ds0/top.mp4", "b/unfed.mp4")
	out := t.TempDir()
	f := &fakeFeed{videos: [][2]string{{"a", "v1.mp4"}, {"b", "v3.mp4"}, {"a", "ghost.mp4"}, {"ds0", "top.mp4"}, {"a", "v2.mp4"}},
		ended: map[string]core.Outcome{}, onDisk: map[string]int{}, out: out}
	sum, err := feedRun(t, context.Background(), f, src, localsink.New(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a/v1.mp4", "a/v2.mp4", "b/v3.mp4"} {
		o, ok := f.ended[id]
		if !ok || o.Err != nil || o.Interrupted || o.Written != 10 || f.onDisk[id] != 10 {
			t.Errorf("%s: %+v, %d images on disk when settled", id, o, f.onDisk[id])
		}
	}
	if o := f.ended["a/ghost.mp4"]; !errors.Is(o.Err, core.ErrNotInSource) || !o.Permanent {
		t.Errorf("ghost: %+v", o)
	}
	if o := f.ended["ds0/top.mp4"]; o.Err == nil || !o.Permanent || !strings.Contains(o.Err.Error(), "rename one of them") {
		t.Errorf("clash: %+v", o)
	}
	if len(f.ended) != 5 || sum.VideosOK != 3 || sum.Written != 30 {
		t.Fatalf("ended %v, summary %+v", f.ended, sum)
	}
	if _, err := os.Stat(filepath.Join(out, "b/datasets/unfed.mp4")); err == nil {
		t.Fatal("a video the feed did not hand out was written")
	}
}

// A stop settles every lease: the video being written as interrupted (its
// images so far stay), those taken but not started as interrupted too.
func TestFeedStopped(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4", "a/v3.mp4", "a/v4.mp4")
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &slowSink{Sink: localsink.New(out), seen: map[string]int{}, delay: 5 * time.Millisecond}
	f := &fakeFeed{videos: [][2]string{{"a", "v1.mp4"}, {"a", "v2.mp4"}, {"a", "v3.mp4"}, {"a", "v4.mp4"}},
		ended: map[string]core.Outcome{}, onDisk: map[string]int{}, out: out}
	var once sync.Once
	stopAt := &cancelOnPut{slowSink: sink, after: 3, cancel: func() { once.Do(cancel) }}
	_, err := feedRun(t, ctx, f, src, stopAt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if len(f.ended) == 0 {
		t.Fatal("no lease settled")
	}
	interrupted := 0
	for id, o := range f.ended {
		if o.Err != nil || !o.Interrupted && o.Written != 10 {
			t.Errorf("%s after a stop: %+v", id, o)
		}
		if o.Interrupted {
			interrupted++
			if n := f.onDisk[id]; n != o.Written {
				t.Errorf("%s interrupted with %d written, %d on disk", id, o.Written, n)
			}
		}
	}
	if interrupted == 0 {
		t.Fatalf("no video was cut short: %v", f.ended)
	}
	f.mu.Lock()
	taken := 4 - len(f.videos)
	f.mu.Unlock()
	if len(f.ended) != taken {
		t.Fatalf("%d leases taken, %d settled: %v", taken, len(f.ended), f.ended)
	}
}

// cancelOnPut stops the run after some images.
type cancelOnPut struct {
	*slowSink
	after  int64
	cancel func()
}

func (c *cancelOnPut) Put(ctx context.Context, img *core.Image) error {
	err := c.slowSink.Put(ctx, img)
	if c.puts.Load() >= c.after {
		c.cancel()
	}
	return err
}
