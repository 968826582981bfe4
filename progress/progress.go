// Package progress shows a run's progress and carries its log lines: on a
// terminal a bar per video and one overall (mpb), with log lines printed above
// the bars; otherwise plain log lines, with a progress line per video and one
// of the run's totals every few seconds. A log file, if given, gets every line in either case.
package progress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
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
	// Log is the run's logger: on a terminal its lines are printed above the
	// bars (which are redrawn below them); a log file gets them too.
	Log() *slog.Logger
	// Writer is where free text goes so that it does not tear the bars.
	Writer() io.Writer
	// Close stops drawing and ticking; the log file's lines are all written
	// when it returns.
	Close()
}

// DefaultInterval is how often, without a terminal, each video's progress and
// the run's totals are logged.
const DefaultInterval = 10 * time.Second

// Options say where a run's progress and log lines go.
type Options struct {
	// Out is the terminal or the stream for log lines (stderr).
	Out io.Writer
	// TTY draws bars on Out instead of writing progress lines.
	TTY bool
	// JSON writes log lines as JSON objects instead of logfmt text.
	JSON bool
	// File, if not nil, gets every log line, the per-video and progress lines
	// included, whether Out is a terminal or not.
	File io.Writer
	// Interval between progress lines; 0 means DefaultInterval.
	Interval time.Duration
	// Tick, if not nil, replaces the Interval ticker (tests): a progress line
	// per video in progress for each value received, as of that time.
	Tick <-chan time.Time
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// New returns bars when tty is true, log lines on w otherwise.
func New(w io.Writer, tty bool) Reporter { return Start(Options{Out: w, TTY: tty}) }

// Start returns the reporter the options describe.
func Start(o Options) Reporter {
	if o.Now == nil {
		o.Now = time.Now
	}
	handler := func(w io.Writer) slog.Handler { return Handler(w, o.JSON) }
	var file slog.Handler
	if o.File != nil {
		file = handler(o.File)
	}
	if !o.TTY {
		log := slog.New(fanout(handler(o.Out), file))
		return &reporter{log: log, out: o.Out, lines: newLines(log, o)}
	}
	b := newBars(o.Out)
	r := &reporter{bars: b, out: &above{b.p, o.Out}}
	r.log = slog.New(fanout(handler(r.out), file))
	if file != nil {
		r.lines = newLines(slog.New(file), o)
	}
	return r
}

// Handler writes log lines to w as JSON objects or logfmt text.
func Handler(w io.Writer, json bool) slog.Handler {
	if json {
		return slog.NewJSONHandler(w, nil)
	}
	return slog.NewTextHandler(w, nil)
}

// reporter sends events to the bars and/or the progress lines.
type reporter struct {
	bars  *bars  // nil without a terminal
	lines *lines // nil on a terminal without a log file
	log   *slog.Logger
	out   io.Writer
}

func (r *reporter) VideoStart(id string, toWrite, skipped int) {
	if r.bars != nil {
		r.bars.VideoStart(id, toWrite, skipped)
	}
	if r.lines != nil {
		r.lines.VideoStart(id, toWrite, skipped)
	}
}

func (r *reporter) FrameDone(id string) {
	if r.bars != nil {
		r.bars.FrameDone(id)
	}
	if r.lines != nil {
		r.lines.FrameDone(id)
	}
}

// FrameDropped: a frame counted in VideoStart's toWrite that a content rule
// left out (it will not be written).
func (r *reporter) FrameDropped(id string) {
	if r.bars != nil {
		r.bars.FrameDropped(id)
	}
	if r.lines != nil {
		r.lines.FrameDropped(id)
	}
}

func (r *reporter) VideoDone(id string, written, skipped int, err error) {
	if r.bars != nil {
		r.bars.VideoDone(id, written, skipped, err)
	}
	if r.lines != nil {
		r.lines.VideoDone(id, written, skipped, err)
	}
}

// Videos tells how many videos the run has (not known with a work queue).
func (r *reporter) Videos(n int) {
	if r.lines != nil {
		r.lines.Videos(n)
	}
}

func (r *reporter) Log() *slog.Logger { return r.log }
func (r *reporter) Writer() io.Writer { return r.out }

func (r *reporter) Close() {
	if r.lines != nil {
		r.lines.Close()
	}
	if r.bars != nil {
		r.bars.Close()
	}
}

// above writes through the bars' container, which prints the text above the
// bars at its next refresh; once the bars are gone, straight to the terminal.
type above struct {
	p   *mpb.Progress
	out io.Writer
}

func (a *above) Write(b []byte) (int, error) {
	n, err := a.p.Write(b)
	if errors.Is(err, mpb.DoneError) {
		return a.out.Write(b)
	}
	return n, err
}

// multi is a slog handler that hands every record to each of its handlers.
type multi []slog.Handler

// fanout joins the handlers that are not nil.
func fanout(hs ...slog.Handler) slog.Handler {
	var m multi
	for _, h := range hs {
		if h != nil {
			m = append(m, h)
		}
	}
	if len(m) == 1 {
		return m[0]
	}
	return m
}

func (m multi) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range m {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (m multi) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (m multi) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(multi, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (m multi) WithGroup(name string) slog.Handler {
	out := make(multi, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}

// lines logs a line when a video starts and ends and, while it runs, its
// progress every interval: frames done of those to write, frames/s, ETA; and
// every interval a line of the run's totals.
type lines struct {
	log    *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	videos map[string]*video
	run    runTotals
	stop   chan struct{}
	done   chan struct{}
}

// runTotals are the run's own counts since the reporter started.
type runTotals struct {
	start   time.Time
	total   int // videos the run has; 0: not known
	done    int // videos ended (ok or failed)
	failed  int
	written int // frames
}

type video struct {
	start   time.Time
	toWrite int
	done    int
}

func newLines(log *slog.Logger, o Options) *lines {
	l := &lines{log: log, now: o.Now, videos: map[string]*video{}, run: runTotals{start: o.Now()},
		stop: make(chan struct{}), done: make(chan struct{})}
	tick := o.Tick
	var ticker *time.Ticker
	if tick == nil {
		iv := o.Interval
		if iv <= 0 {
			iv = DefaultInterval
		}
		ticker = time.NewTicker(iv)
		tick = ticker.C
	}
	go func() {
		defer close(l.done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case t := <-tick:
				l.progress(t)
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *lines) VideoStart(id string, toWrite, skipped int) {
	l.mu.Lock()
	l.videos[id] = &video{start: l.now(), toWrite: toWrite}
	l.mu.Unlock()
	l.log.Info("video", "video", id, "frames", toWrite, "already_there", skipped)
}

// Videos tells how many videos the run has.
func (l *lines) Videos(n int) {
	l.mu.Lock()
	l.run.total = n
	l.mu.Unlock()
}

func (l *lines) FrameDone(id string) {
	l.mu.Lock()
	if v := l.videos[id]; v != nil {
		v.done++
	}
	l.run.written++
	l.mu.Unlock()
}

func (l *lines) FrameDropped(id string) {
	l.mu.Lock()
	if v := l.videos[id]; v != nil {
		v.toWrite--
	}
	l.mu.Unlock()
}

func (l *lines) VideoDone(id string, written, skipped int, err error) {
	l.mu.Lock()
	v := l.videos[id]
	delete(l.videos, id)
	l.run.done++
	if err != nil {
		l.run.failed++
	}
	l.mu.Unlock()
	el := time.Duration(0)
	if v != nil {
		el = l.now().Sub(v.start).Round(time.Millisecond)
	}
	if err != nil {
		l.log.Error("video failed", "video", id, "written", written, "err", err)
		return
	}
	l.log.Info("video done", "video", id, "written", written, "skipped", skipped, "elapsed", el.String())
}

// progress logs, as of now, a line for each video with frames still to write.
func (l *lines) progress(now time.Time) {
	type row struct {
		id string
		v  video
	}
	l.mu.Lock()
	var rows []row
	for id, v := range l.videos {
		if v.done < v.toWrite {
			rows = append(rows, row{id, *v})
		}
	}
	run := l.run
	l.mu.Unlock()
	defer l.runLine(now, run)
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	for _, r := range rows {
		el := now.Sub(r.v.start).Seconds()
		fps, eta := 0.0, "unknown"
		if el > 0 && r.v.done > 0 {
			fps = float64(r.v.done) / el
			eta = (time.Duration(float64(r.v.toWrite-r.v.done) / fps * float64(time.Second))).Round(time.Second).String()
		}
		l.log.Info("progress", "video", r.id, "done", r.v.done, "to_write", r.v.toWrite,
			"fps", float64(int(fps*10+0.5))/10, "eta", eta)
	}
}

// runLine logs the run's totals as of now: videos done (of the run's, when
// known), failed, frames written, frames/s and time since the start.
func (l *lines) runLine(now time.Time, run runTotals) {
	el := now.Sub(run.start)
	fps := 0.0
	if el > 0 {
		fps = float64(run.written) / el.Seconds()
	}
	attrs := []any{"videos_done", run.done}
	if run.total > 0 {
		attrs = append(attrs, "videos_total", run.total)
	}
	attrs = append(attrs, "videos_failed", run.failed, "written", run.written, "fps", float64(int(fps*10+0.5))/10,
		"elapsed", el.Round(time.Second).String())
	l.log.Info("run progress", attrs...)
}

// Close stops the ticker.
func (l *lines) Close() {
	close(l.stop)
	<-l.done
}

type bars struct {
	p       *mpb.Progress
	overall *mpb.Bar
	mu      sync.Mutex
	total   int64
	videos  map[string]*mpb.Bar
	totals  map[string]int64 // each video's frames to write
}

func newBars(w io.Writer) *bars {
	p := mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	overall := p.AddBar(0, mpb.BarPriority(1<<30),
		mpb.PrependDecorators(decor.Name("all videos ", decor.WCSyncWidth), decor.CountersNoUnit("%d / %d", decor.WCSyncWidth)),
		mpb.AppendDecorators(decor.AverageSpeed(nil, " %.1f frames/s"), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
	return &bars{p: p, overall: overall, videos: map[string]*mpb.Bar{}, totals: map[string]int64{}}
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
	b.totals[id] = int64(toWrite)
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

func (b *bars) FrameDropped(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bar := b.videos[id]; bar != nil {
		b.totals[id]--
		bar.SetTotal(b.totals[id], false)
	}
	b.total--
	b.overall.SetTotal(b.total, false)
}

func (b *bars) VideoDone(id string, written, skipped int, err error) {
	b.mu.Lock()
	bar := b.videos[id]
	delete(b.videos, id)
	delete(b.totals, id)
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

func (b *bars) Close() {
	b.mu.Lock()
	for _, bar := range b.videos {
		bar.Abort(true)
	}
	b.mu.Unlock()
	b.overall.SetTotal(-1, true)
	b.p.Wait()
}
