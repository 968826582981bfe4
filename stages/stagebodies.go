package stages

import (
	"context"
	"fmt"
	"time"

	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
)

// enumerate hands the decode stage its videos: every one of the source's, or
// the feed's as they come.
func (s *runState) enumerate(ctx context.Context, emit pipeline.Emit[*job]) error {
	if s.r.Feed != nil {
		return s.r.feed(ctx, s.cat, s.r.Config.Stages.Decode.Workers, s.add, emit)
	}
	for _, j := range s.jobs {
		hook("enumerate")
		if err := emit(j); err != nil {
			return err
		}
	}
	return nil
}

// decodeStage decodes one video's selected frames into the pipeline.
func (r *Runner) decodeStage(ctx context.Context, j *job, emit pipeline.Emit[*frame]) error {
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
}

// resize converts a frame to RGB at the output size, unless the encoder is to.
func (s *runState) resize(ctx context.Context, f *frame, emit pipeline.Emit[*frame]) error {
	hook("resize")
	if f.job.failed() {
		f.release()
		f.job.frameOut("")
		return nil
	}
	if convertLate(f) { // the encoder converts it: see convertLate
		return emitOrDrop(emit, f)
	}
	if err := convert(s.convs, f); err != nil {
		f.job.fail(err)
		f.job.frameOut("")
		return nil
	}
	return emitOrDrop(emit, f)
}

// encode encodes a frame into its image, with its annotation and meta.
func (s *runState) encode(ctx context.Context, f *frame, emit pipeline.Emit[output]) error {
	hook("encode")
	defer f.release()
	if f.job.failed() {
		f.job.frameOut("")
		return nil
	}
	if f.rgb == nil {
		if err := convert(s.lateConvs, f); err != nil {
			f.job.fail(err)
			f.job.frameOut("")
			return nil
		}
	}
	data, err := use(s.encs, func(e media.Encoder) ([]byte, error) { return e.Encode(f.rgb) })
	if err != nil {
		f.job.fail(err)
		f.job.frameOut("")
		return nil
	}
	img, err := s.r.image(f, data)
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

func emitOrDrop(emit pipeline.Emit[*frame], f *frame) error {
	if err := emit(f); err != nil {
		f.release()
		f.job.frameOut("")
		return err
	}
	return nil
}
