package stages

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/reugn/go-streams"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/pipeline"
)

// batch is images of one job on their way to a BatchSink.
type batch struct {
	job  *job
	imgs []*core.Image
	regs []core.Registered // after upload
}

// String names the batch's video (in a recovered panic).
func (b *batch) String() string { return b.job.String() }

// batcher is the batch stage: a go-streams Flow (spliced in with pipeline.Via)
// that groups each video's encoded images into batches of size images, and
// flushes a video's last, shorter batch as soon as its last frame arrives. It
// is one goroutine: the work is bookkeeping.
type batcher struct {
	in, out chan any
	size    int
	pending map[*job]*batch
	arrived map[*job]int
}

func newBatcher(size, queue int) *batcher {
	b := &batcher{in: make(chan any), out: make(chan any, max(queue, 0)), size: size,
		pending: map[*job]*batch{}, arrived: map[*job]int{}}
	go b.run()
	return b
}

func (b *batcher) In() chan<- any  { return b.in }
func (b *batcher) Out() <-chan any { return b.out }

// Via and To chain the go-streams way.
func (b *batcher) Via(f streams.Flow) streams.Flow {
	go func() {
		for v := range b.out {
			f.In() <- v
		}
		close(f.In())
	}()
	return f
}

func (b *batcher) To(s streams.Sink) {
	for v := range b.out {
		s.In() <- v
	}
	close(s.In())
	s.AwaitCompletion()
}

func (b *batcher) run() {
	defer close(b.out)
	for v := range b.in {
		o := v.(output)
		j := o.job
		b.arrived[j]++
		p := b.pending[j]
		if p == nil {
			p = &batch{job: j}
			b.pending[j] = p
		}
		p.imgs = append(p.imgs, o.img)
		want := j.toWrite()
		if len(p.imgs) >= b.size || b.arrived[j] >= want {
			b.flush(j)
		}
		if b.arrived[j] >= want {
			delete(b.arrived, j)
		}
		// A failed video's frames stop coming: let its pending ones go now.
		for fj := range b.pending {
			if fj.failed() {
				b.flush(fj)
			}
		}
	}
	for j := range b.pending {
		b.flush(j)
	}
}

// flush sends a job's pending batch downstream (the upload stage drops the
// batches of failed videos, counting their frames out).
func (b *batcher) flush(j *job) {
	p := b.pending[j]
	delete(b.pending, j)
	if p != nil && len(p.imgs) > 0 {
		b.out <- p // downstream reads until this channel closes, even when stopping
	}
}

// drop counts a batch's frames out unwritten and returns their buffers.
func (p *batch) drop() {
	for _, img := range p.imgs {
		media.PutBuf(img.Data)
		img.Data = nil
		p.job.frameOut("")
	}
}

// batchStages are encode → batch → upload → annotate for a BatchSink.
func (r *Runner) batchStages(p *pipeline.Pipeline, encoded *pipeline.Outlet[output], bs core.BatchSink) {
	st := r.Config.Stages
	b := newBatcher(st.Batch.BatchSize, st.Batch.Queue)
	batches := pipeline.Via[output, *batch](encoded, b)
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
				regs, err = bs.Upload(ctx, &core.Batch{Dataset: j.item.DestDataset(), Images: bt.imgs})
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
					_, err = bs.Annotate(ctx, j.item.DestDataset(), bt.regs, false)
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
	bs, ok := r.Sink.(core.BatchSink)
	if !ok {
		return nil
	}
	// Asked even without annotations to send: it also lets go of the listing
	// the sink kept from Existing for this dataset.
	ids, all, err := bs.Reannotate(ctx, j.item.DestDataset())
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
		if sz, ok := r.Sink.(interface {
			ImageSize(dataset []string, name string) (int, int, bool)
		}); ok && !r.resizes() {
			// Without a resize the image has its frame's own size (it may differ
			// from the stream's): the server knows it.
			if iw, ih, ok := sz.ImageSize(j.item.DestDataset(), name); ok {
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
	sent, err := bs.Annotate(ctx, j.item.DestDataset(), regs, all)
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
