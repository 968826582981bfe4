package stages

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/vpipe/vpipe/content"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/sampling"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

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
	annotated, err := r.annotations(ctx, it, p, spec)
	if err != nil {
		return nil, err
	}
	p.output = r.outputSettings(p)
	if err := r.Sink.CheckDataset(ctx, core.DatasetInfo{Dataset: it.DestDataset(), Custom: map[string]any{core.OutputKey: p.output}, Video: it}); err != nil {
		return nil, err // the caller closes v
	}
	existing, err := r.Sink.Existing(ctx, it.DestDataset())
	if err != nil {
		return nil, err
	}
	if p.selection, err = spec.Select(timeline(x), annotated); err != nil {
		return nil, err
	}
	r.partition(p, it, existing)
	return p, nil
}

// annotations loads the video's annotation when it is copied or selects
// frames, and tells which frames are annotated (nil: not asked).
func (r *Runner) annotations(ctx context.Context, it *core.Item, p *prepared, spec sampling.Spec) (func(int) bool, error) {
	var annotated func(int) bool
	if it.LoadAnnotation != nil && (r.Config.Sampling.CopyAnnotations || spec.OnlyAnnotated) {
		s, ann, err := r.sampler(ctx, it, p.video, p.index)
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
	return annotated, nil
}

// outputSettings is what decides the pixels and labels of an image with a
// given name: a re-run with other values must not mix its images with these.
// Without a resize each image has its frame's decoded size, which may change
// within the video (in-band SPS): 0x0 says so rather than claim one size.
func (r *Runner) outputSettings(p *prepared) map[string]any {
	recW, recH := p.outW, p.outH
	if !r.resizes() {
		recW, recH = 0, 0
	}
	output := map[string]any{"width": recW, "height": recH, "filter": r.Config.Sampling.Resize.Filter,
		"autorotate": r.Config.Sampling.Autorotate, "copy_annotations": r.Config.Sampling.CopyAnnotations}
	for k, v := range OutputFormat(r.Config.Stages.Encode.Options()) {
		output[k] = v
	}
	return output
}

// partition splits the selected frames into those to write and those the
// sink has (existing), and picks the frames to decode.
func (r *Runner) partition(p *prepared, it *core.Item, existing map[string]bool) {
	x := p.index
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
