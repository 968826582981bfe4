package stages

import (
	"context"
	"errors"

	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/pipeline"
)

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
