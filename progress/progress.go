// Package progress shows a run's progress: a bar per video and one overall on a
// terminal (mpb), plain log lines otherwise.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Reporter receives run events; it satisfies stages.Reporter.
type Reporter interface {
	VideoStart(id string, toWrite, skipped int)
	FrameDone(id string)
	VideoDone(id string, written, skipped int, err error)
	// Writer is where log lines go so they do not tear the bars.
	Writer() io.Writer
	// Close stops drawing.
	Close()
}

// New returns bars when tty is true, log lines otherwise.
func New(w io.Writer, tty bool) Reporter {
	if tty {
		return newBars(w)
	}
	return &lines{w: w, log: slog.New(slog.NewTextHandler(w, nil)), start: map[string]time.Time{}}
}

type lines struct {
	w     io.Writer
	log   *slog.Logger
	mu    sync.Mutex
	start map[string]time.Time
}

func (l *lines) VideoStart(id string, toWrite, skipped int) {
	l.mu.Lock()
	l.start[id] = time.Now()
	l.mu.Unlock()
	l.log.Info("video", "video", id, "frames", toWrite, "already_there", skipped)
}

func (l *lines) FrameDone(string) {}

func (l *lines) VideoDone(id string, written, skipped int, err error) {
	l.mu.Lock()
	t, ok := l.start[id]
	delete(l.start, id)
	l.mu.Unlock()
	el := time.Duration(0)
	if ok {
		el = time.Since(t).Round(time.Millisecond)
	}
	if err != nil {
		l.log.Error("video failed", "video", id, "written", written, "err", err)
		return
	}
	l.log.Info("video done", "video", id, "written", written, "skipped", skipped, "elapsed", el)
}

func (l *lines) Writer() io.Writer { return l.w }
func (l *lines) Close()            {}

type bars struct {
	p       *mpb.Progress
	overall *mpb.Bar
	mu      sync.Mutex
	total   int64
	videos  map[string]*mpb.Bar
}

func newBars(w io.Writer) *bars {
	p := mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	overall := p.AddBar(0, mpb.BarPriority(1<<30),
		mpb.PrependDecorators(decor.Name("all videos ", decor.WCSyncWidth), decor.CountersNoUnit("%d / %d", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.AverageSpeed(nil, " %.1f frames/s"), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
	return &bars{p: p, overall: overall, videos: map[string]*mpb.Bar{}}
}

func (b *bars) VideoStart(id string, toWrite, skipped int) {
	name := id
	if skipped > 0 {
		name = fmt.Sprintf("%s (%d already there)", id, skipped)
	}
	// Built with total 0 and given its total after: mpb completes such a bar only
	// when told to (VideoDone), never on its own count, so completion is ours.
	bar := b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(name+" ", decor.WCSyncWidth), decor.CountersNoUnit("%d / %d", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.OnComplete(decor.Percentage(decor.WC{W: 5}), "done")),
		mpb.BarRemoveOnComplete())
	bar.SetTotal(int64(toWrite), false)
	b.mu.Lock()
	b.videos[id] = bar
	b.total += int64(toWrite)
	b.overall.SetTotal(b.total, false)
	b.mu.Unlock()
}

func (b *bars) FrameDone(id string) {
	b.mu.Lock()
	bar := b.videos[id]
	b.mu.Unlock()
	if bar != nil {
		bar.Increment()
	}
	b.overall.Increment()
}

func (b *bars) VideoDone(id string, written, skipped int, err error) {
	b.mu.Lock()
	bar := b.videos[id]
	delete(b.videos, id)
	b.mu.Unlock()
	if err != nil {
		if bar != nil {
			bar.Abort(true)
		}
		fmt.Fprintf(b.p, "FAILED %s: %v\n", id, err)
	} else if bar != nil {
		bar.SetTotal(-1, true)
	}
}

func (b *bars) Writer() io.Writer { return b.p }

func (b *bars) Close() {
	b.mu.Lock()
	for _, bar := range b.videos {
		bar.Abort(true)
	}
	b.mu.Unlock()
	b.overall.SetTotal(-1, true)
	b.p.Wait()
}
