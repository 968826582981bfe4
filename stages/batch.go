package stages

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
)

// batch is images of one job on their way to a batching sink.
type batch struct {
	job  *job
	imgs []*core.Image
	regs []core.Registered // after upload
}

// String names the batch's video (in a recovered panic).
func (b *batch) String() string { return b.job.String() }

// batcher is the batch stage (a pipeline.Group): it groups each video's
// encoded images into batches of size images, and flushes a video's last,
// shorter batch as soon as its last frame arrives. A video that fails lets go
// of the images it holds at once (Flush, woken by the failure): they are
// counted out, so the video ends without waiting for other images. It is one
// goroutine: the work is bookkeeping.
type batcher struct {
	size    int
	pending map[*job]*batch
	arrived map[*job]int
}

func newBatcher(size int) *batcher {
	return &batcher{size: size, pending: map[*job]*batch{}, arrived: map[*job]int{}}
}

func (b *batcher) Add(_ context.Context, o output, emit pipeline.Emit[*batch]) error {
	hook("batch")
	j := o.job
	if j.failed() { // its frames are counted out unwritten
		(&batch{job: j, imgs: []*core.Image{o.img}}).drop()
		return b.flush(j, emit)
	}
	b.arrived[j]++
	p := b.pending[j]
	if p == nil {
		p = &batch{job: j}
		b.pending[j] = p
	}
	p.imgs = append(p.imgs, o.img)
	if len(p.imgs) >= b.size || b.arrived[j] >= j.toWrite() {
		return b.flush(j, emit)
	}
	return nil
}

// Flush lets go of the failed videos' images, or of every video's at the end.
func (b *batcher) Flush(_ context.Context, emit pipeline.Emit[*batch], final bool) error {
	var first error
	for j := range b.pending {
		if final || j.failed() {
			if err := b.flush(j, emit); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// flush sends a job's pending batch downstream, or drops it when the video
// has failed or the run is stopping.
func (b *batcher) flush(j *job, emit pipeline.Emit[*batch]) error {
	p := b.pending[j]
	delete(b.pending, j)
	if j.failed() || b.arrived[j] >= j.toWrite() {
		delete(b.arrived, j)
	}
	if p == nil || len(p.imgs) == 0 {
		return nil
	}
	if j.failed() {
		p.drop()
		return nil
	}
	if err := emit(p); err != nil {
		p.drop()
		return err
	}
	return nil
}

// drop counts a batch's frames out unwritten and returns their buffers.
func (p *batch) drop() {
	for _, img := range p.imgs {
		media.PutBuf(img.Data)
		img.Data = nil
		p.job.frameOut("")
	}
}

// batchStages are encode → batch → upload → annotate for a batching sink
// (its Features' Batch: bo).
//
// failed is sent on when a video fails: the batch stage then lets go of its
// images at once.
func (r *Runner) batchStages(p *pipeline.Pipeline, encoded *pipeline.Outlet[output], bo *core.BatchOps, failed <-chan struct{}) {
	st := r.Config.Stages
	batches := pipeline.Group[output, *batch](p, "batch", encoded, st.Batch.Queue, failed, newBatcher(st.Batch.BatchSize))
	uploaded := pipeline.Stage(p, "upload", batches, pipeline.Options{Workers: st.Upload.Workers, Queue: st.Upload.Queue},
		func(ctx context.Context, bt *batch, emit pipeline.Emit[*batch]) error {
			hook("upload")
			j := bt.job
			if j.failed() || ctx.Err() != nil {
				bt.drop()
				return nil
			}
			err := r.record(ctx, j) // the dataset's settings, with its first images
			var regs []core.Registered
			if err == nil {
				regs, err = bo.Upload(ctx, &core.Batch{Dataset: j.item.DestDataset(), Images: bt.imgs})
			}
			for _, img := range bt.imgs {
				if err == nil {
					metrics.SinkBytes(int64(len(img.Data)))
				}
				media.PutBuf(img.Data)
				img.Data = nil
			}
			if err != nil {
				if ctx.Err() == nil {
					j.fail(fmt.Errorf("upload %d images (%s … %s): %w", len(bt.imgs), bt.imgs[0].Name, bt.imgs[len(bt.imgs)-1].Name, err))
				}
				bt.drop()
				return nil
			}
			bt.regs = regs
			if err := emit(bt); err != nil {
				bt.drop()
				return err
			}
			return nil
		})
	pipeline.Sink(p, "annotate", uploaded, pipeline.Options{Workers: st.Annotate.Workers},
		func(ctx context.Context, bt *batch) error {
			hook("annotate")
			j := bt.job
			var err error
			if r.Config.Sampling.CopyAnnotations {
				if err = ctx.Err(); err == nil {
					_, err = bo.Annotate(ctx, j.item.DestDataset(), bt.regs, false)
				}
			}
			// Uploaded and (when asked) annotated: written, even if the run stops now.
			if err != nil {
				if ctx.Err() == nil {
					j.fail(fmt.Errorf("annotate %d images (%s … %s): %w", len(bt.regs), bt.imgs[0].Name, bt.imgs[len(bt.imgs)-1].Name, err))
				}
				for range bt.imgs {
					j.frameOut("")
				}
				return nil
			}
			for _, img := range bt.imgs {
				r.Reporter.FrameDone(j.item.ID())
				j.frameOut(img.Name)
			}
			return nil
		})
}

// reannotate sends the annotations of frames already in the sink that an
// interrupted run registered without them (or all, to overwrite). No decoding:
// an annotation needs only the frame index and the output size.
func (r *Runner) reannotate(ctx context.Context, j *job, p *prepared) error {
	bo := r.Sink.Features().Batch
	if bo == nil {
		return nil
	}
	// Asked even without annotations to send: it also lets go of the listing
	// the sink kept from Existing for this dataset.
	ids, all, err := bo.Reannotate(ctx, j.item.DestDataset())
	if err != nil || len(ids) == 0 || p.sampler == nil {
		return err
	}
	var regs []core.Registered
	for _, i := range p.reannotate {
		name := r.name(j.item.Name, i, p.index.Count)
		id, ok := ids[name]
		if !ok {
			continue
		}
		w, h := p.outW, p.outH
		if bo.ImageSize != nil && !r.resizes() {
			// Without a resize the image has its frame's own size (it may differ
			// from the stream's): the server knows it.
			if iw, ih, ok := bo.ImageSize(j.item.DestDataset(), name); ok {
				w, h = iw, ih
			}
		}
		ann, err := r.annotation(j, i, w, h)
		if err != nil {
			return err
		}
		regs = append(regs, core.Registered{Image: &core.Image{Item: j.item, Dataset: j.item.DestDataset(), Name: name, Ann: ann}, ID: id})
	}
	if len(regs) == 0 {
		return nil
	}
	sent, err := bo.Annotate(ctx, j.item.DestDataset(), regs, all)
	if sent > 0 { // empty annotations are not sent: a new image has one already
		r.Log.Info("annotations re-sent", "video", j.item.ID(), "images", sent, "empty_not_sent", len(regs)-sent, "overwrite", all)
	}
	return err
}

// logFetched reports the bytes a remote video cost.
func (r *Runner) logFetched(it *core.Item, p *prepared) {
	if p.input == nil || p.input.Fetched == nil || r.Log == nil {
		return
	}
	n := p.input.Fetched()
	attrs := []any{"video", it.ID(), "bytes_fetched", n, "file_bytes", p.input.Size, "map_from_index", p.index.FromIndex}
	if p.input.Size > 0 {
		attrs = append(attrs, "ratio", fmt.Sprintf("%.3f", float64(n)/float64(p.input.Size)))
	}
	r.Log.Log(context.Background(), slog.LevelInfo, "fetched", attrs...)
}
