// Package stages is vpipe's sampling pipeline: enumerate videos, open and map
// them, decode the selected frames, convert and resize them, encode images and
// hand them to the sink, each stage a pool sized by the config.
package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
	"github.com/vpipe/vpipe/sampling"
)

// Reporter is told how the run goes (progress bars, log lines).
type Reporter interface {
	VideoStart(id string, toWrite, skipped int)
	FrameDone(id string)
	VideoDone(id string, written, skipped int, err error)
}

// VideoCounter is a Reporter that is told, before the first video, how many
// videos the run has (not with a Feed: a work queue's are not known).
type VideoCounter interface {
	Videos(n int)
}

// Failure is a video that could not be sampled.
type Failure struct {
	Video string
	Err   error
}

// Summary is what a run did.
type Summary struct {
	VideosOK     int
	VideosFailed int
	// VideosInterrupted were cut short by a stop (Ctrl-C, SIGTERM, an error that
	// ends the run): their images written so far stay, and a re-run resumes them.
	VideosInterrupted int
	// VideosNotStarted were never reached before the run stopped.
	VideosNotStarted int
	Written          int // images written by this run (interrupted videos' included)
	// NotRolledBack are images of failed videos whose roll-back failed: they
	// may still be in the sink (counted in Written too).
	NotRolledBack int
	Skipped       int
	Dropped       int // frames the content rules (scene_threshold, dedup) left out
	Failures      []Failure
	// VideosPartial are damaged videos salvaged (sampling.on_damage: salvage):
	// every frame that decoded cleanly was written, the Partial list the rest.
	VideosPartial int
	Partial       []Partial
	// LeftOut are the labels the sinks left out because their format
	// cannot carry them (a point in COCO), per sink, class and geometry.
	LeftOut []core.LeftOut
	Elapsed time.Duration
	CPU     time.Duration // the process's CPU time (user + system) during the run
	// Started: the stages started. False when Run stopped at start-up (the
	// source's project refused, the sink's Begin failed) before any video.
	Started bool

	// Videos is every video's outcome, in the source's order.
	Videos []VideoResult
	// Stages is each stage's counters; Bottleneck the one that held the run
	// back (metrics.Bottleneck); IO the bytes and retries of this run.
	Stages     []metrics.StageStats
	Bottleneck string
	IO         metrics.IOStats
}

// CloseError is a sink's Close that failed; Run joins it to the run's
// error (an interruption's too).
type CloseError struct {
	Sink string
	Err  error
}

func (e *CloseError) Error() string { return "closing the sink " + e.Sink + ": " + e.Err.Error() }

func (e *CloseError) Unwrap() error { return e.Err }

// FPS is frames written per second of run time.
func (s Summary) FPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Written) / s.Elapsed.Seconds()
}

// Runner samples videos from a source into a sink.
type Runner struct {
	project  *core.Project
	datasets sync.Map // destination datasets whose custom data is written

	splitsMu sync.RWMutex
	splits   map[string]string // a sink that splits videos: each video's split, by Item.ID

	Config   *config.Config
	Source   core.Source
	Sink     core.Sink
	Reporter Reporter
	Log      *slog.Logger
	// Name gives an image's file name; nil means the Supervisely seed's
	// "<video>_frame_<index padded to the frame count's digits>.<ext>", the
	// extension of stages.encode.format.
	Name func(video string, index, count int) string
	// Metrics, if set, gets the run's per-stage counters as the stages start
	// (to serve them during the run).
	Metrics *metrics.Set
	// Keep, when set, selects the videos this run samples (a shard); clashes
	// are still found among all of the source's videos.
	Keep func(*core.Item) bool
	// Feed, when set, hands the run its videos one at a time (a work queue)
	// instead of every video of the source; see feed.go.
	Feed core.Feed
	// Writer is who this run is to a sink that admits writers (the local
	// sink's lock file): zero for an unsharded run, which writes a sink
	// alone; shards set Shared. A run with a Feed is a queue worker (see
	// begin): it need not set it.
	Writer core.Writer
	// StallTimeout, when > 0 and with a Feed, gives up a leased video that
	// makes no progress for this long once its decode began; see stall.go.
	StallTimeout time.Duration

	framesOnce sync.Once // reads sampling.frames_file
	frames     *sampling.FramesFile
	framesErr  error
}

func (r *Runner) name(video string, index, count int) string {
	if r.Name != nil {
		return r.Name(video, index, count)
	}
	return sampling.ImageName(video, index, count, r.Config.Stages.Encode.Options().Ext())
}

func (r *Runner) spec() sampling.Spec {
	s := r.Config.Sampling
	return r.listSpec(sampling.Spec{Start: s.Start, End: s.End, Step: s.Step, OnlyAnnotated: s.OnlyAnnotated})
}

// testHook, set by tests only, is called by every stage with its name before
// it handles a value (to make a stage panic).
var testHook func(stage string)

func hook(stage string) {
	if testHook != nil {
		testHook(stage)
	}
}

// Run samples every video. A video that fails is reported in the summary and
// the others go on; the error is for what stops the whole run (the source or
// sink failing, a panic, or cancellation). The summary counts what was written
// even then, and tells the videos cut short from those completed.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	begin, cpu0 := time.Now(), processCPU()
	io0 := metrics.IO()
	l, err := r.items(ctx)
	if err != nil {
		return Summary{}, err
	}
	if err := r.begin(ctx); err != nil {
		r.Sink.Close() // lets go of what a sink took before it refused (a fan-out's first sink's lock)
		return Summary{}, err
	}
	if err := r.planSplits(ctx, l.all, l.refused, false); err != nil {
		r.Sink.Close()
		return Summary{}, err
	}
	closeSink := sync.OnceValue(r.Sink.Close) // whatever happens from here (a pool not made, a panic), the sink is closed
	defer closeSink()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &runState{r: r, ctx: ctx, stop: stop, failed: make(chan struct{}, 1)}
	s.enlist(l.kept, l.refused)
	if err := s.openPools(); err != nil {
		return Summary{}, err
	}
	defer s.closePools()
	err = s.run()
	if serr := s.stopped(); serr != nil {
		err = serr
	}
	s.endUnfinished()
	if r.Feed != nil {
		s.jobs = s.sum.lastTries(s.jobs)
	}
	s.sum.results(s.jobs, s.p, io0)
	if cerr := closeSink(); cerr != nil {
		// A sink may write at Close what its images need (COCO's
		// instances files): its error is told even after an interruption.
		if err == nil {
			err = cerr
		} else {
			r.Log.Error("closing the sink failed", "sink", r.Sink.Describe(), "err", cerr)
			err = errors.Join(err, &CloseError{Sink: r.Sink.Describe(), Err: cerr})
		}
	}
	if lo := r.Sink.Features().LeftOut; lo != nil {
		s.sum.LeftOut = lo()
	}
	s.sum.Elapsed, s.sum.CPU = time.Since(begin), processCPU()-cpu0
	return s.sum, err
}

// runState is one Run: its videos, the summary they are counted in, the
// pipeline and the stages' resource pools.
type runState struct {
	r    *Runner
	ctx  context.Context
	stop context.CancelCauseFunc
	p    *pipeline.Pipeline

	stopMu  sync.Mutex
	stopErr error // why the run stopped before its videos were done

	mu  sync.Mutex // guards sum while the pipeline runs
	sum Summary

	jobsMu sync.Mutex
	jobs   []*job
	cat    *catalog      // with a Feed: the videos it may hand out
	failed chan struct{} // a video failed: the batch stage lets go of its images

	convs, lateConvs chan *media.Converter
	encs             chan media.Encoder
	closers          []func()
}

// enlist takes the source's videos: every one as a job, or, with a Feed, as
// the catalog the feed's videos are found in.
func (s *runState) enlist(items []*core.Item, refused map[*core.Item]error) {
	if s.r.Feed != nil { // videos come from the feed, found among these
		s.cat = &catalog{r: s.r}
		s.cat.set(items, refused)
		return
	}
	for _, it := range items {
		s.add(&job{item: it, refused: refused[it]})
	}
	if vc, ok := s.r.Reporter.(VideoCounter); ok {
		vc.Videos(len(items))
	}
}

// add makes j one of the run's videos.
func (s *runState) add(j *job) *job {
	j.onDone, j.onFail = s.done, func(err error) { s.videoFailed(j, err) }
	s.jobsMu.Lock()
	s.jobs = append(s.jobs, j)
	s.jobsMu.Unlock()
	return j
}

// videoFailed wakes the batch stage to let go of a failed video's images,
// and stops the run when the video failed because a server stopped answering.
func (s *runState) videoFailed(j *job, err error) {
	select {
	case s.failed <- struct{}{}:
	default: // one wake-up is pending already
	}
	if core.Unreachable(err) {
		s.stopMu.Lock()
		defer s.stopMu.Unlock()
		if s.stopErr == nil {
			s.stopErr = fmt.Errorf("a server stopped answering: the run stops and starts no other video; %s: %w", j.item.ID(), err)
			s.stop(s.stopErr)
		}
	}
}

// stopped is why the run stopped early (a server stopped answering), or nil.
func (s *runState) stopped() error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	return s.stopErr
}

// openPools makes the converters and encoders the stages share.
func (s *runState) openPools() error {
	st, filter := s.r.Config.Stages, s.r.Config.Sampling.Resize.Filter
	newConv := func() (*media.Converter, error) { return media.NewConverter(filter) }
	var err error
	var closeConvs, closeLate, closeEncs func()
	if s.convs, closeConvs, err = pool(st.Resize.Workers, newConv, (*media.Converter).Close); err != nil {
		return err
	}
	s.closers = append(s.closers, closeConvs)
	if s.lateConvs, closeLate, err = pool(st.Encode.Workers, newConv, (*media.Converter).Close); err != nil {
		s.closePools()
		return err
	}
	s.closers = append(s.closers, closeLate)
	if s.encs, closeEncs, err = pool(st.Encode.Workers, func() (media.Encoder, error) {
		return media.NewEncoder(st.Encode.Options())
	}, media.Encoder.Close); err != nil {
		s.closePools()
		return err
	}
	s.closers = append(s.closers, closeEncs)
	return nil
}

// closePools frees the pools, the last made first.
func (s *runState) closePools() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// run starts the stages and waits for them to end.
func (s *runState) run() error {
	r, st := s.r, s.r.Config.Stages
	s.p = pipeline.NewWithMetrics(s.ctx, r.Metrics)
	s.sum.Started = true
	queued := pipeline.Source(s.p, "enumerate", st.Decode.Workers, s.enumerate)
	decoded := pipeline.Stage(s.p, "decode", queued, pipeline.Options{Workers: st.Decode.Workers, Queue: st.Decode.Queue}, r.decodeStage)
	resized := pipeline.Stage(s.p, "resize", decoded, pipeline.Options{Workers: st.Resize.Workers, Queue: st.Resize.Queue}, s.resize)
	encoded := pipeline.Stage(s.p, "encode", resized, pipeline.Options{Workers: st.Encode.Workers, Queue: st.Encode.Queue}, s.encode)
	if bo := r.Sink.Features().Batch; bo != nil {
		r.batchStages(s.p, encoded, bo, s.failed)
	} else {
		r.writeStage(s.p, encoded)
	}
	err := s.p.Wait()
	if err == nil {
		r.warnUnlisted()
	}
	var pe *pipeline.PanicError
	if errors.As(err, &pe) {
		r.Log.Error("panic", "err", err, "stack", string(pe.Stack))
	}
	return err
}

// use takes a resource from a pool for one call and always puts it back.
func use[T, R any](pool chan T, fn func(T) (R, error)) (R, error) {
	v := <-pool
	defer func() { pool <- v }()
	return fn(v)
}

// pool makes n instances of a per-goroutine resource, handed out through a channel.
func pool[T any](n int, mk func() (T, error), free func(T)) (chan T, func(), error) {
	ch := make(chan T, n)
	for i := 0; i < n; i++ {
		v, err := mk()
		if err != nil {
			close(ch)
			for v := range ch {
				free(v)
			}
			return nil, func() {}, err
		}
		ch <- v
	}
	return ch, func() {
		for i := 0; i < n; i++ {
			free(<-ch)
		}
	}, nil
}
