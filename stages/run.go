// Package stages is vpipe's sampling pipeline: enumerate videos, open and map
// them, decode the selected frames, convert and resize them, encode images and
// hand them to the sink, each stage a pool sized by the config.
package stages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/content"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
	"github.com/vpipe/vpipe/sampling"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
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
	Elapsed       time.Duration
	CPU           time.Duration // the process's CPU time (user + system) during the run
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
	// alone; shards and queue workers set Shared.
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
	var sum Summary
	var mu sync.Mutex
	items, refused, err := r.items(ctx)
	if err != nil {
		return sum, err
	}
	if err := r.begin(ctx); err != nil {
		r.Sink.Close() // lets go of what a sink took before it refused (a fan-out's first sink's lock)
		return sum, err
	}
	var p *pipeline.Pipeline
	account := func(j *job) {
		stopped := p.Context().Err() != nil
		if j.err == nil && (len(j.lost)+len(j.retract) > 0 || j.countUnknown) {
			if err := r.settleSalvage(context.WithoutCancel(ctx), j); err != nil {
				j.err = err
			}
		}
		if j.err == nil && j.written+len(j.lost) < j.wanted && !stopped {
			// Never a silent gap: decoding ended without an error, yet frames are missing.
			j.err = fmt.Errorf("%s: wrote %d of the %d frames selected", j.item.Open, j.written, j.wanted)
		}
		if j.err != nil && r.rollBack(ctx, j) {
			j.written = 0
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Skipped += j.skipped
		sum.Written += j.written
		sum.NotRolledBack += j.notRolledBack
		sum.Dropped += j.dropped
		switch {
		case j.err != nil:
			j.setStatus(StatusFailed)
			sum.VideosFailed++
			sum.Failures = append(sum.Failures, Failure{Video: j.item.ID(), Err: j.err})
		case j.written+len(j.lost) < j.wanted:
			j.setStatus(StatusInterrupted)
			sum.VideosInterrupted++
			r.Log.Warn("video interrupted", "video", j.item.ID(), "written", j.written, "of", j.wanted)
			return // its bar is aborted when the reporter closes
		case len(j.lost) > 0 || j.countUnknown:
			j.setStatus(StatusPartial)
			sum.VideosPartial++
			miss := j.missing()
			sum.Partial = append(sum.Partial, Partial{Video: j.item.ID(), Missing: miss, Damage: j.damage})
			first := -1
			if len(miss) > 0 {
				first = miss[0]
			}
			r.Log.Warn("video partial", "video", j.item.ID(), "written", j.written, "missing", len(miss),
				"frames", ranges(miss), "damage", j.damage, "first_missing", first, "why", j.lostWhy[first])
		default:
			j.setStatus(StatusOK)
			sum.VideosOK++
		}
		r.Reporter.VideoDone(j.item.ID(), j.written, j.skipped, j.err)
	}
	onDone := func(j *job) { account(j); j.settle(false) }
	failed := make(chan struct{}, 1) // a video failed: the batch stage lets go of its images
	onFail := func() {
		select {
		case failed <- struct{}{}:
		default: // one wake-up is pending already
		}
	}
	var jobsMu sync.Mutex
	var jobs []*job
	add := func(j *job) *job {
		j.onDone, j.onFail = onDone, onFail
		jobsMu.Lock()
		jobs = append(jobs, j)
		jobsMu.Unlock()
		return j
	}
	var cat *catalog
	if r.Feed != nil { // videos come from the feed, found among these
		cat = &catalog{r: r}
		cat.set(items, refused)
	} else {
		for _, it := range items {
			add(&job{item: it, refused: refused[it]})
		}
		if vc, ok := r.Reporter.(VideoCounter); ok {
			vc.Videos(len(items))
		}
	}

	st := r.Config.Stages
	convs, closeConvs, err := pool(st.Resize.Workers, func() (*media.Converter, error) {
		return media.NewConverter(r.Config.Sampling.Resize.Filter)
	}, (*media.Converter).Close)
	if err != nil {
		return sum, err
	}
	defer closeConvs()
	lateConvs, closeLate, err := pool(st.Encode.Workers, func() (*media.Converter, error) {
		return media.NewConverter(r.Config.Sampling.Resize.Filter)
	}, (*media.Converter).Close)
	if err != nil {
		return sum, err
	}
	defer closeLate()
	encs, closeEncs, err := pool(st.Encode.Workers, func() (media.Encoder, error) {
		return media.NewEncoder(st.Encode.Options())
	}, media.Encoder.Close)
	if err != nil {
		return sum, err
	}
	defer closeEncs()
	p = pipeline.NewWithMetrics(ctx, r.Metrics)
	sum.Started = true
	queued := pipeline.Source(p, "enumerate", st.Decode.Workers, func(ctx context.Context, emit pipeline.Emit[*job]) error {
		if r.Feed != nil {
			return r.feed(ctx, cat, st.Decode.Workers, add, emit)
		}
		for _, j := range jobs {
			hook("enumerate")
			if err := emit(j); err != nil {
				return err
			}
		}
		return nil
	})
	decoded := pipeline.Stage(p, "decode", queued, pipeline.Options{Workers: st.Decode.Workers, Queue: st.Decode.Queue},
		func(ctx context.Context, j *job, emit pipeline.Emit[*frame]) error {
			hook("decode")
			j.start = time.Now()
			j.started = true
			vctx := r.watchStall(ctx, j) // the video's own context
			if err := r.decode(vctx, j, emit); err != nil && ctx.Err() == nil {
				j.fail(err) // (a stall's error is recorded first)
			}
			j.seal()
			j.freeSlot()
			return ctx.Err()
		})

	resized := pipeline.Stage(p, "resize", decoded, pipeline.Options{Workers: st.Resize.Workers, Queue: st.Resize.Queue},
		func(ctx context.Context, f *frame, emit pipeline.Emit[*frame]) error {
			hook("resize")
			if f.job.failed() {
				f.release()
				f.job.frameOut("")
				return nil
			}
			if convertLate(f) { // the encoder converts it: see convertLate
				return emitOrDrop(emit, f)
			}
			if err := convert(convs, f); err != nil {
				f.job.fail(err)
				f.job.frameOut("")
				return nil
			}
			return emitOrDrop(emit, f)
		})

	encoded := pipeline.Stage(p, "encode", resized, pipeline.Options{Workers: st.Encode.Workers, Queue: st.Encode.Queue},
		func(ctx context.Context, f *frame, emit pipeline.Emit[output]) error {
			hook("encode")
			defer f.release()
			if f.job.failed() {
				f.job.frameOut("")
				return nil
			}
			if f.rgb == nil {
				if err := convert(lateConvs, f); err != nil {
					f.job.fail(err)
					f.job.frameOut("")
					return nil
				}
			}
			data, err := use(encs, func(e media.Encoder) ([]byte, error) { return e.Encode(f.rgb) })
			if err != nil {
				f.job.fail(err)
				f.job.frameOut("")
				return nil
			}
			img, err := r.image(f, data)
			if err != nil {
				media.PutBuf(data)
				f.job.fail(err)
				f.job.frameOut("")
				return nil
			}
			f.release() // the pixels go back to the pool before waiting on the write stage
			if err := emit(output{job: f.job, img: img}); err != nil {
				f.job.frameOut("")
				return err
			}
			return nil
		})

	if bs, ok := r.Sink.(core.BatchSink); ok {
		r.batchStages(p, encoded, bs, failed)
	} else {
		r.writeStage(p, encoded)
	}

	err = p.Wait()
	if err == nil {
		r.warnUnlisted()
	}
	var pe *pipeline.PanicError
	if errors.As(err, &pe) {
		r.Log.Error("panic", "err", err, "stack", string(pe.Stack))
	}
	// The run stopped before these videos finished: what they wrote stays.
	for _, j := range jobs {
		switch {
		case j.finished:
		case j.started && j.err != nil:
			// It failed, then the run stopped before its frames drained: it is
			// still a failure, and rolled back like one.
			if r.rollBack(ctx, j) {
				j.written = 0
			}
			j.setStatus(StatusFailed)
			sum.VideosFailed++
			sum.Failures = append(sum.Failures, Failure{Video: j.item.ID(), Err: j.err})
			sum.Written += j.written // those kept (a failed roll-back, a feed)
			sum.NotRolledBack += j.notRolledBack
			sum.Skipped += j.skipped
			sum.Dropped += j.dropped
			r.Reporter.VideoDone(j.item.ID(), j.written, j.skipped, j.err)
			j.settle(false)
		case j.started:
			j.setStatus(StatusInterrupted)
			sum.VideosInterrupted++
			sum.Written += j.written
			sum.Skipped += j.skipped
			sum.Dropped += j.dropped
			j.settle(true)
		default:
			j.setStatus(StatusNotStarted)
			sum.VideosNotStarted++
			j.settle(true)
		}
	}
	if r.Feed != nil {
		jobs = sum.lastTries(jobs)
	}
	sum.results(jobs, p, io0)
	if cerr := r.Sink.Close(); err == nil {
		err = cerr
	}
	sum.Elapsed, sum.CPU = time.Since(begin), processCPU()-cpu0
	return sum, err
}

// rollBack removes what a failed video wrote this run, so it leaves no
// partial dataset; false when it keeps them. A run with a Feed (a work queue)
// keeps them: delivery is at least once, so another worker may hold the same
// video (redelivered after an ack-wait expiry) and count these very names as
// written or already there; deleting them could make it ack a video with
// images missing. Each kept image is complete, and the next try resumes from
// them. A roll-back that fails (the sink is gone) keeps them too, and says so:
// they may still be there.
func (r *Runner) rollBack(ctx context.Context, j *job) bool {
	if r.Feed != nil {
		if len(j.names) > 0 {
			r.Log.Warn("failed video keeps its images for the next try", "video", j.item.ID(), "images", len(j.names))
		}
		return false
	}
	err := r.Sink.Delete(context.WithoutCancel(ctx), j.item.DestDataset(), j.names)
	if err == nil {
		return true
	}
	ds := strings.Join(j.item.DestDataset(), "/")
	j.notRolledBack = len(j.names)
	r.Log.Error("roll-back failed", "video", j.item.ID(), "images", len(j.names), "sink", r.Sink.Describe(), "dataset", ds, "err", err)
	j.err = fmt.Errorf("%w; roll-back failed: the %d image(s) it wrote this run (each with its annotation and meta) may be left in %s, dataset %s: %v",
		j.err, len(j.names), r.Sink.Describe(), ds, err)
	return false
}

// writeStage is the end of the pipeline for a sink that stores one image at a time.
func (r *Runner) writeStage(p *pipeline.Pipeline, encoded *pipeline.Outlet[output]) {
	pipeline.Sink(p, "write", encoded, pipeline.Options{Workers: r.Config.Stages.Write.Workers},
		func(ctx context.Context, o output) error {
			hook("write")
			j, img := o.job, o.img
			if j.failed() {
				j.frameOut("")
				return nil
			}
			err := r.record(ctx, j)
			if err == nil {
				err = r.Sink.Put(ctx, img)
			}
			if err == nil {
				metrics.SinkBytes(int64(len(img.Data)))
			}
			media.PutBuf(img.Data)
			img.Data = nil
			if err != nil {
				if ctx.Err() == nil {
					j.fail(fmt.Errorf("write %s: %w", img.Name, err))
				}
				j.frameOut("")
				return nil
			}
			r.Reporter.FrameDone(j.item.ID()) // before frameOut, which may finish the video
			j.frameOut(img.Name)
			return nil
		})
}

// use takes a resource from a pool for one call and always puts it back.
func use[T, R any](pool chan T, fn func(T) (R, error)) (R, error) {
	v := <-pool
	defer func() { pool <- v }()
	return fn(v)
}

func emitOrDrop(emit pipeline.Emit[*frame], f *frame) error {
	if err := emit(f); err != nil {
		f.release()
		f.job.frameOut("")
		return err
	}
	return nil
}

// items reads the source project and lists its videos, with those that may not
// be written because their destination is also another's (see clashes).
func (r *Runner) items(ctx context.Context) ([]*core.Item, map[*core.Item]error, error) {
	if err := r.loadProject(ctx); err != nil {
		return nil, nil, err
	}
	var items []*core.Item
	err := r.Source.Items(ctx, func(it *core.Item) error {
		items = append(items, it)
		return ctx.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	refused := clashes(items)
	r.matchFramesFile(items)
	if r.Keep != nil {
		items = slices.DeleteFunc(items, func(it *core.Item) bool { return !r.Keep(it) })
	}
	return items, refused, nil
}

// begin prepares the sink: a meta conflict stops the run here, before any image
// is written.
func (r *Runner) begin(ctx context.Context) error {
	custom := map[string]any{}
	for _, k := range []string{"is_sample", "video_project_id", "video_project_name"} {
		if v, ok := r.project.Provenance[k]; ok {
			custom[k] = v
		}
	}
	if a, ok := r.Sink.(core.Admitting); ok {
		w := r.Writer
		if w.Role == "" && r.Feed != nil {
			w = core.Writer{Role: "queue worker", Shared: true}
		}
		a.SetWriter(w)
	}
	_, err := r.Sink.Begin(ctx, r.project.Meta, custom)
	return err
}

// Check makes the checks of the source's project that Run and Plan make
// before any video (vpipe validate): it reads the project (a Supervisely
// source's from the server).
func (r *Runner) Check(ctx context.Context) error { return r.loadProject(ctx) }

func (r *Runner) loadProject(ctx context.Context) error {
	p, err := r.Source.Project(ctx)
	if err != nil {
		return err
	}
	if r.Config.Sampling.OnlyAnnotated && p.Meta == nil {
		return fmt.Errorf("sampling.only_annotated: %s has no annotations (it is not a Supervisely video project)", r.Source.Describe())
	}
	r.project = p
	return nil
}

// prepared is a video opened and mapped, with the frames this run must write.
type prepared struct {
	sampler *sv.Sampler
	meta    map[string]any
	video   *media.Video
	input   *core.Input // when the item was fetched
	index   *media.Index
	want    []int
	names   []string // of every selected frame
	skipped int
	outW    int
	outH    int
	output  map[string]any // the output settings the video's dataset records
	// reannotate are frames already in the sink whose annotation must be sent
	// (an interrupted run registered them; or overwrite is asked for).
	reannotate []int
	selection  sampling.Selection
	// With content rules: every selected frame is decoded (decode), those the
	// sink has (existing) only to measure them.
	filter   *content.Filter
	decode   []int
	existing map[int]bool
}

// close closes the video and releases what fetching it took.
func (p *prepared) close() {
	p.video.Close()
	if p.input != nil && p.input.Release != nil {
		p.input.Release()
	}
}

// open opens the item, fetching it first if it must be.
func (r *Runner) open(ctx context.Context, it *core.Item, progress *atomic.Int64) (*media.Video, *core.Input, error) {
	if it.Fetch == nil {
		o := it.OpenOptions
		o.Progress = progress
		v, err := media.Open(it.Open, o)
		return v, nil, err
	}
	in, err := it.Fetch(core.WithProgress(ctx, progress))
	if err != nil {
		return nil, nil, err
	}
	o := in.Options
	o.Progress = progress
	v, err := media.Open(in.Open, o)
	if err != nil {
		if in.Release != nil {
			in.Release()
		}
		return nil, nil, err
	}
	return v, in, nil
}

// prepare opens and maps a video and selects its frames, leaving out those the
// sink already has.
func (r *Runner) prepare(ctx context.Context, it *core.Item, progress *atomic.Int64) (*prepared, error) {
	v, in, err := r.open(ctx, it, progress)
	if err != nil {
		return nil, err
	}
	p, err := r.prepareOpen(ctx, it, v)
	if err != nil {
		v.Close()
		if in != nil && in.Release != nil {
			in.Release()
		}
		return nil, err
	}
	p.input = in
	return p, nil
}

func (r *Runner) prepareOpen(ctx context.Context, it *core.Item, v *media.Video) (*prepared, error) {
	spec, err := r.specFor(it)
	if err != nil {
		return nil, err
	}
	v.Salvage = r.salvaging()
	x, err := v.Scan(spec.Need())
	if err != nil {
		return nil, err
	}
	if x.Damage != "" {
		r.warn("damaged video: salvaging what decodes cleanly", "video", it.ID(), "damage", x.Damage)
	}
	p := &prepared{video: v, index: x, meta: map[string]any{}}
	for k, val := range it.Provenance {
		p.meta[k] = val
	}
	dw, dh := v.Info.DisplaySize()
	if !r.Config.Sampling.Autorotate {
		dw, dh = v.Info.Width, v.Info.Height
	}
	p.outW, p.outH = media.OutputSize(dw, dh, r.Config.Sampling.Resize.Height, r.Config.Sampling.Resize.Width)
	var annotated func(int) bool
	if it.LoadAnnotation != nil && (r.Config.Sampling.CopyAnnotations || spec.OnlyAnnotated) {
		s, ann, err := r.sampler(ctx, it, v, x)
		if err != nil {
			return nil, err
		}
		if s != nil {
			if r.Config.Sampling.CopyAnnotations {
				p.sampler = s
			}
			annotated = s.Annotated
			if p.meta["video_id"] == nil && r.project.Keys != nil {
				if id, ok := r.project.Keys.Videos[ann.Key()]; ok && id != nil {
					p.meta["video_id"] = *id
				}
			}
		}
	}
	// What decides the pixels and labels of an image with a given name: a
	// re-run with other values must not mix its images with these. Without a
	// resize each image has its frame's decoded size, which may change within
	// the video (in-band SPS): 0x0 says so rather than claim one size.
	recW, recH := p.outW, p.outH
	if !r.resizes() {
		recW, recH = 0, 0
	}
	p.output = map[string]any{"width": recW, "height": recH, "filter": r.Config.Sampling.Resize.Filter,
		"autorotate": r.Config.Sampling.Autorotate, "copy_annotations": r.Config.Sampling.CopyAnnotations}
	for k, v := range OutputFormat(r.Config.Stages.Encode.Options()) {
		p.output[k] = v
	}
	if err := r.Sink.CheckDataset(ctx, core.DatasetInfo{Dataset: it.DestDataset(), Custom: map[string]any{core.OutputKey: p.output}}); err != nil {
		v.Close()
		return nil, err
	}
	existing, err := r.Sink.Existing(ctx, it.DestDataset())
	if err != nil {
		return nil, err
	}
	if p.selection, err = spec.Select(timeline(x), annotated); err != nil {
		return nil, err
	}
	p.filter = r.contentFilter()
	if p.filter != nil {
		p.decode, p.existing = p.selection.Indices, map[int]bool{}
	}
	for _, i := range p.selection.Indices {
		p.names = append(p.names, r.name(it.Name, i, x.Count))
		if existing[r.name(it.Name, i, x.Count)] {
			p.skipped++
			p.reannotate = append(p.reannotate, i)
			if p.existing != nil {
				p.existing[i] = true
			}
		} else {
			p.want = append(p.want, i)
		}
	}
	if p.filter == nil {
		p.decode = p.want
	}
	return p, nil
}

// sampler loads the video's annotation and indexes its figures; nil (and a
// warning) when its project has no annotation file for it: the platform takes
// such a video as unlabelled.
func (r *Runner) sampler(ctx context.Context, it *core.Item, v *media.Video, x *media.Index) (*sv.Sampler, *sv.VideoAnnotation, error) {
	ann, err := it.LoadAnnotation(ctx)
	if errors.Is(err, core.ErrNoAnnotation) {
		r.warn("annotation file missing: sampled unlabelled", "video", it.ID(), "file", it.AnnotationPath)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	s, err := sv.NewSampler(ann, r.project.Meta, r.project.Keys, sv.Video{Frames: x.Count, Width: v.Info.Width,
		Height: v.Info.Height, Rotation: v.Info.Rotation, Upright: r.Config.Sampling.Autorotate}, crop.GEOS{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", it.AnnotationPath, err)
	}
	return s, ann, nil
}

// resizes tells whether a resize is asked for: then every frame gets its
// size; else each frame keeps the size it is decoded at.
func (r *Runner) resizes() bool {
	rs := r.Config.Sampling.Resize
	return rs.Width > 0 || rs.Height > 0
}

// warn logs a warning when the runner has a log (plan runs without one).
func (r *Runner) warn(msg string, args ...any) {
	if r.Log != nil {
		r.Log.Warn(msg, args...)
	}
}

// decode prepares the video and decodes its frames into the pipeline.
func (r *Runner) decode(ctx context.Context, j *job, emit pipeline.Emit[*frame]) error {
	if j.refused != nil {
		return j.refused
	}
	p, err := r.prepare(ctx, j.item, &j.progress)
	if err != nil {
		return err
	}
	defer p.close()
	defer r.logFetched(j.item, p)
	if p.input == nil {
		countFile(j.item.Open)
	}
	j.count, j.outW, j.outH, j.skipped, j.wanted = p.index.Count, p.outW, p.outH, p.skipped, len(p.want)
	j.sampler, j.meta, j.output = p.sampler, p.meta, p.output
	j.fixedSize = r.resizes()
	j.damage = p.index.Damage
	j.countUnknown = p.index.CountUnknown && r.reachesPast(p.index.Count)
	if p.skipped == 0 && len(p.want) == 0 {
		sp := r.Config.Sampling
		end := any(nil)
		if sp.End != nil {
			end = *sp.End
		}
		r.Log.Warn("no frame selected", "video", j.item.ID(), "frames", p.index.Count, "start", sp.Start,
			"end", end, "step", sp.Step, "only_annotated", sp.OnlyAnnotated, "rules", p.selection.Describe(""))
	}
	if p.skipped > 0 { // its dataset holds images: refresh what it records now
		if err := r.record(ctx, j); err != nil {
			return err
		}
	}
	if err := r.reannotate(ctx, j, p); err != nil {
		return err
	}
	r.Reporter.VideoStart(j.item.ID(), len(p.want), p.skipped)
	autorotate := r.Config.Sampling.Autorotate
	out := func(pic *media.Picture) error {
		if !autorotate {
			pic.Rotation = 0
		}
		if j.failed() {
			pic.Release()
			return errors.New("stopped after an error")
		}
		j.frameIn()
		return emitOrDrop(emit, &frame{job: j, index: pic.Index, pts: pic.PTS, time: pic.Time, pic: pic})
	}
	end := func(bool) error { return nil }
	if p.filter != nil {
		out, end = r.filterFrames(j, p, out)
	}
	o := media.DecodeOptions{Threads: r.decodeThreads(p), KeyframesOnly: r.Config.Sampling.KeyframesOnly}
	if r.salvaging() {
		o.Lost = j.lostFrame
	}
	err = p.video.Decode(ctx, p.index, p.decode, o, out)
	if eerr := end(err == nil); err == nil {
		err = eerr
	}
	return err
}

// record writes the custom data of the video's datasets, once per video, before
// its first image: a video that writes no image leaves no dataset and binds no
// output settings.
func (r *Runner) record(ctx context.Context, j *job) error {
	j.record.Do(func() { j.recordErr = r.recordDatasets(ctx, j.item, j.meta, j.output) })
	return j.recordErr
}

// recordDatasets writes the custom data of the video's source dataset (once a
// run) and of the video's own dataset.
func (r *Runner) recordDatasets(ctx context.Context, it *core.Item, meta, output map[string]any) error {
	parent := map[string]any{}
	for _, k := range []string{"is_sample", "video_project_id", "video_project_name", "video_dataset_id", "video_dataset_name"} {
		if v, ok := meta[k]; ok {
			parent[k] = v
		}
	}
	for _, a := range it.Ancestors {
		k := strings.Join(a.Dataset, "\x00")
		if _, done := r.datasets.LoadOrStore(k, true); !done {
			if err := r.Sink.Dataset(ctx, a); err != nil {
				r.datasets.Delete(k) // not recorded: the next video tries again
				return err
			}
		}
	}
	key := strings.Join(it.Dataset, "\x00")
	if _, done := r.datasets.LoadOrStore(key, true); !done {
		if err := r.Sink.Dataset(ctx, core.DatasetInfo{Dataset: it.Dataset, Custom: parent}); err != nil {
			r.datasets.Delete(key) // not recorded: the next video tries again
			return err
		}
	}
	custom := map[string]any{core.OutputKey: output}
	for k, v := range meta {
		custom[k] = v
	}
	return r.Sink.Dataset(ctx, core.DatasetInfo{Dataset: it.DestDataset(), Custom: custom})
}

// PlanRow is what a run would do with one video.
type PlanRow struct {
	Video    string
	Frames   int // in the video
	Selected int // by the sampling settings
	Existing int // of those, already in the sink
	Width    int // output size
	Height   int
	Err      error

	// PerSink counts, with several sinks, the selected frames each one has
	// (Existing is then those every sink has).
	PerSink []int
	// Rules is what each selection rule leaves, in order of application.
	Rules string
}

// Plan works out what Run would write, without decoding or writing anything. It
// makes Run's checks: a video Run would refuse or fail before writing gets a
// row with its error; a problem that stops the whole run (the sink's meta.json
// unreadable or in conflict) is returned after the rows.
func (r *Runner) Plan(ctx context.Context, row func(PlanRow)) error {
	items, refused, err := r.items(ctx)
	if err != nil {
		return err
	}
	stop := r.Sink.Check(ctx, r.project.Meta)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := refused[it]; err != nil {
			row(PlanRow{Video: it.ID(), Err: err})
			continue
		}
		p, err := r.prepare(ctx, it, nil)
		if err != nil {
			row(PlanRow{Video: it.ID(), Err: err})
			continue
		}
		p.close()
		pr := PlanRow{Video: it.ID(), Frames: p.index.Count, Selected: len(p.want) + p.skipped, Existing: p.skipped, Width: p.outW, Height: p.outH,
			Rules: p.selection.Describe(r.contentRules())}
		if each, ok := r.Sink.(interface {
			ExistingEach(context.Context, []string) ([]map[string]bool, error)
		}); ok {
			have, err := each.ExistingEach(ctx, it.DestDataset())
			if err != nil {
				row(PlanRow{Video: it.ID(), Err: err})
				continue
			}
			for _, h := range have {
				n := 0
				for _, name := range p.names {
					if h[name] {
						n++
					}
				}
				pr.PerSink = append(pr.PerSink, n)
			}
		}
		row(pr)
	}
	return stop
}

// clashes finds the videos whose destination dataset is also another's: two
// videos going to one dataset (a video directly in a local source folder goes
// to ds0, and so does one of the same name in a sub-folder ds0), or a video's
// dataset that is also a dataset other videos are under (a source dataset named
// like a video beside it). Neither side may be written: each gets an error
// naming both files.
func clashes(items []*core.Item) map[*core.Item]error {
	key := func(ds []string) string { return strings.Join(ds, "/") }
	out := map[*core.Item]error{}
	refuse := func(it *core.Item, err error) {
		if out[it] == nil {
			out[it] = err
		}
	}
	video := map[string]*core.Item{} // destination dataset -> the first video written there
	for _, it := range items {
		k := key(it.DestDataset())
		if o, ok := video[k]; ok {
			refuse(o, fmt.Errorf("%s: its dataset %s is also where %s goes; rename one of them", o.Open, k, it.Open))
			refuse(it, fmt.Errorf("%s: its dataset %s is also where %s goes; rename one of them", it.Open, k, o.Open))
			continue
		}
		video[k] = it
	}
	for _, it := range items {
		for i := 1; i <= len(it.Dataset); i++ {
			k := key(it.Dataset[:i])
			if o, ok := video[k]; ok {
				refuse(o, fmt.Errorf("%s: its dataset %s is also a dataset that holds %s; rename one of them", o.Open, k, it.Open))
				refuse(it, fmt.Errorf("%s: it goes under dataset %s, which is also the dataset of %s; rename one of them", it.Open, k, o.Open))
			}
		}
	}
	return out
}

// image builds the output image: name, annotation at the output size, meta.
// An annotation that cannot be made or written fails the video: an image is
// never written with fewer labels than its frame has.
func (r *Runner) image(f *frame, data []byte) (*core.Image, error) {
	j, it := f.job, f.job.item
	w, h := f.rgb.Width, f.rgb.Height
	ann, err := r.annotation(j, f.index, w, h)
	if err != nil {
		return nil, err
	}
	meta := make(map[string]any, len(j.meta)+3)
	for k, v := range j.meta {
		meta[k] = v
	}
	meta["frame_index"] = f.index
	meta["pts"] = f.pts
	meta["time_s"] = f.time
	return &core.Image{
		Item:    it,
		Dataset: it.DestDataset(),
		Name:    r.name(it.Name, f.index, j.count),
		Data:    data,
		Ann:     ann,
		Meta:    meta,
	}, nil
}

// annotation is frame i's image annotation at w×h (empty without a sampler).
func (r *Runner) annotation(j *job, i, w, h int) (json.RawMessage, error) {
	if j.sampler == nil {
		return emptyAnnotation(w, h), nil
	}
	a, skipped, err := j.sampler.Image(i, w, h)
	var b json.RawMessage
	if err == nil {
		b, err = json.Marshal(a)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (frame %d)", j.item.AnnotationPath, err, i)
	}
	for _, s := range skipped {
		r.Log.Warn("label left out", "video", j.item.ID(), "why", s)
	}
	return b, nil
}

func emptyAnnotation(w, h int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"description":"","size":{"height":%d,"width":%d},"tags":[],"objects":[],"customBigData":{}}`, h, w))
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
