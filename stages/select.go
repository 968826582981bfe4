package stages

import (
	"fmt"
	"strings"

	"github.com/vpipe/vpipe/content"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/sampling"
)

// specFor is the selection of one video: the config's rules, with its entry
// of sampling.frames_file when there is one.
func (r *Runner) specFor(it *core.Item) (sampling.Spec, error) {
	s := r.spec()
	if r.Config.Sampling.FramesFile != "" {
		if err := r.readFramesFile(); err != nil {
			return s, err
		}
		s.List = r.frames.For(it.ID(), it.Name)
	}
	return s, nil
}

func (r *Runner) readFramesFile() error {
	r.framesOnce.Do(func() { r.frames, r.framesErr = sampling.ReadFramesFile(r.Config.Sampling.FramesFile) })
	if r.framesErr != nil {
		return fmt.Errorf("sampling.frames_file: %w", r.framesErr)
	}
	return nil
}

// matchFramesFile marks the frames_file entries of every video of the source,
// before a shard or a queue picks its own: an entry is reported as matching
// no video only when none of the source has it.
func (r *Runner) matchFramesFile(items []*core.Item) {
	if r.Config.Sampling.FramesFile == "" || r.readFramesFile() != nil {
		return // the error is each video's
	}
	for _, it := range items {
		r.frames.Match(it.ID(), it.Name)
	}
}

// listSpec adds the chooser keys of the config to s.
func (r *Runner) listSpec(s sampling.Spec) sampling.Spec {
	c := r.Config.Sampling
	s.FPS, s.MaxFPS, s.KeyframesOnly = c.FPS, c.MaxFPS, c.KeyframesOnly
	switch {
	case len(c.Frames) > 0:
		s.List = &sampling.List{Key: "sampling.frames", Frames: c.Frames}
	case len(c.Times) > 0:
		s.List = &sampling.List{Key: "sampling.times", Times: c.Times}
	}
	return s
}

// timeline is what the selection rules read of a PTS map.
func timeline(x *media.Index) sampling.Timeline {
	return sampling.Timeline{PTS: x.PTS, Count: x.Count, TBNum: int64(x.TimeBase.Num()), TBDen: int64(x.TimeBase.Den()),
		LastDuration: x.LastDuration, Keyframes: x.KeyIndices()}
}

// contentFilter is the config's content rules for one video; nil when off.
func (r *Runner) contentFilter() *content.Filter {
	c := r.Config.Sampling
	f := &content.Filter{Scene: c.SceneThreshold, Dedup: -1}
	if c.Dedup.Distance != nil {
		f.Dedup = *c.Dedup.Distance
	}
	if f.Off() {
		return nil
	}
	return f
}

// contentRules names the content rules in force ("" when none), for plan.
func (r *Runner) contentRules() string {
	c := r.Config.Sampling
	var on []string
	if c.SceneThreshold > 0 {
		on = append(on, fmt.Sprintf("scene_threshold %g", c.SceneThreshold))
	}
	if c.Dedup.Distance != nil {
		on = append(on, fmt.Sprintf("dedup distance %d", *c.Dedup.Distance))
	}
	return strings.Join(on, ", ")
}

// FrameDropper is told of each frame a content rule dropped (optional for a Reporter).
type FrameDropper interface {
	FrameDropped(id string)
}

// filterFrames runs the content rules on the decoded candidates, in order: a
// frame the sink already has is measured (the chain of last kept frames must
// be the one a fresh run builds) and released; a dropped frame is counted and
// released; a kept new frame goes on to emit. Each kept frame is held until
// the next is decided, and the last one until end is called: so when the
// video's last frame leaves, its count of frames to write is final (the
// batching sink flushes a video's last batch on that count).
func (r *Runner) filterFrames(j *job, p *prepared, emit func(*media.Picture) error) (take func(*media.Picture) error, end func(ok bool) error) {
	var held *media.Picture
	release := func() error {
		h := held
		held = nil
		if h == nil {
			return nil
		}
		return emit(h)
	}
	take = func(pic *media.Picture) error {
		l, ok := pic.Luma()
		if !ok {
			pic.Release()
			return fmt.Errorf("%s: frame %d: scene_threshold/dedup cannot read the brightness of pixel format %s",
				j.item.Open, pic.Index, media.PixFmtName(pic.PixFmt))
		}
		feat := content.Measure(&l)
		keep := p.filter.Keep(&feat)
		switch {
		case p.existing[pic.Index]:
			pic.Release()
			if !keep {
				r.Log.Warn("frame already in the sink though the content rules drop it now (were they changed?)",
					"video", j.item.ID(), "frame", pic.Index)
			}
			return nil
		case !keep:
			pic.Release()
			j.drop()
			if d, ok := r.Reporter.(FrameDropper); ok {
				d.FrameDropped(j.item.ID())
			}
			return nil
		}
		err := release()
		held = pic
		return err
	}
	end = func(ok bool) error {
		if !ok {
			if held != nil {
				held.Release()
				held = nil
			}
			return nil
		}
		return release()
	}
	return take, end
}

// UnmatchedFrames are the sampling.frames_file entries no video of the source
// matched (a misspelt name or dataset path), for plan; nil without a file.
func (r *Runner) UnmatchedFrames() []string {
	if r.frames == nil {
		return nil
	}
	return r.frames.Unused()
}

// warnUnlisted names the frames_file entries no video matched (a misspelt
// name or dataset path), once the run has seen every video.
func (r *Runner) warnUnlisted() {
	if r.frames == nil || r.Log == nil {
		return
	}
	for _, k := range r.frames.Unused() {
		r.Log.Warn("frames_file entry matches no video (keys are a video name or dataset/…/name)",
			"file", r.frames.Path, "entry", k)
	}
}
