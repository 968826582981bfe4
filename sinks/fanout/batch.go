package fanout

import (
	"context"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/vpipe/vpipe/core"
)

// The fan-out's batch calls (its Features' Batch, offered when a member
// batches). Each member is run the way it takes images: a batching member
// gets the batch through its own Upload and Annotate, with its own ids; the
// others get the batch's images by Put during upload, Options.Workers at once. Several batching members work
// alike, each with its own ids. What a member had before the run is left to
// it, as with Put.

// upload gives every member the batch's images it lacks: a batching member
// through its own Upload, the others by Put, Options.Workers images at once.
// When a member fails, the images are taken back from the members that took
// them, as Put does, and no id of the batch is kept (the runner annotates
// only what uploaded). The returned ids are the first batching member's: the
// fan-out's annotate finds each member's own by image name.
func (s *Sink) upload(ctx context.Context, b *core.Batch) ([]core.Registered, error) {
	st := s.dataset(b.Dataset)
	took := make([][]string, len(s.sinks))
	ids := make([]map[string]int64, len(s.sinks)) // each batching member's, by image name
	err := s.each(func(i int, k core.Sink) error {
		lack := s.lacking(st, i, b.Images)
		if len(lack) == 0 {
			return nil
		}
		bo := s.feats[i].Batch
		if bo == nil {
			var err error
			took[i], err = s.putEach(ctx, k, lack)
			return err
		}
		regs, err := bo.Upload(ctx, &core.Batch{Dataset: b.Dataset, Images: lack})
		if err != nil {
			return err
		}
		ids[i] = map[string]int64{}
		for _, r := range regs {
			ids[i][r.Image.Name] = r.ID
		}
		took[i] = names(lack)
		return nil
	})
	s.settle(ctx, st, b.Dataset, took, err)
	if err != nil {
		s.forget(st, b.Images, false)
		return nil, err
	}
	s.keep(st, ids)
	return s.registered(st, b.Images, ids), nil
}

// putEach puts imgs into member k, Options.Workers at a time (a file
// member inside the upload stage, which has no write stage of its own). It
// returns the names it took, and the first error; after one, no more Puts
// start.
func (s *Sink) putEach(ctx context.Context, k core.Sink, imgs []*core.Image) ([]string, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.o.Workers)
	var mu sync.Mutex
	var took []string
	for _, img := range imgs {
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // another Put failed (its error is the one returned) or the run stops
			}
			if err := k.Put(gctx, img); err != nil {
				return err
			}
			mu.Lock()
			took = append(took, img.Name)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return took, err
}

// keep records the ids batching members gave at upload, for annotate
// (nothing when the run sends no annotations).
func (s *Sink) keep(st *dataset, ids []map[string]int64) {
	if s.o.NoAnnotate {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range ids {
		for n, id := range m {
			st.ids[i][n] = id
			delete(st.again[i], n)
		}
	}
}

// registered are imgs with the first batching member's id: the one it gave
// now, or the one its Reannotate listed (an image it had).
func (s *Sink) registered(st *dataset, imgs []*core.Image, ids []map[string]int64) []core.Registered {
	regs := make([]core.Registered, len(imgs))
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, img := range imgs {
		regs[k] = core.Registered{Image: img}
		for i := range s.sinks {
			if id, ok := ids[i][img.Name]; ok {
				regs[k].ID = id
				break
			}
			if id, ok := st.ids[i][img.Name]; ok {
				regs[k].ID = id
				break
			}
		}
	}
	return regs
}

// annotate sends each batching member the annotations still to go to it:
// of images this run registered there (with the caller's all), and of those
// its Reannotate listed (with its own overwrite flag: an image the member
// had and another member lacked comes through the upload stage, whose all is
// false). A failed annotation leaves the video to be rolled back in the
// members that took its images during upload. sent is the most any member
// sent.
func (s *Sink) annotate(ctx context.Context, ds []string, regs []core.Registered, all bool) (int, error) {
	st := s.dataset(ds)
	sent := make([]int, len(s.sinks))
	err := s.each(func(i int, _ core.Sink) error {
		bo := s.feats[i].Batch
		if bo == nil {
			return nil
		}
		fresh, again, overwrite := s.pending(st, i, regs)
		defer s.forgetMember(st, i, regs)
		for _, part := range []struct {
			regs []core.Registered
			all  bool
		}{{fresh, all}, {again, overwrite}} {
			if len(part.regs) == 0 {
				continue
			}
			n, err := bo.Annotate(ctx, ds, part.regs, part.all)
			sent[i] += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.forget(st, imagesOf(regs), true)
	}
	return slices.Max(sent), err
}

// pending splits regs into the images whose annotation is still to go to
// batching member i, each with the member's id: those registered by this
// run, and those its Reannotate listed; overwrite is what that Reannotate said.
func (s *Sink) pending(st *dataset, i int, regs []core.Registered) (fresh, again []core.Registered, overwrite bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range regs {
		id, ok := st.ids[i][r.Image.Name]
		if !ok {
			continue
		}
		mine := core.Registered{Image: r.Image, ID: id}
		if st.again[i][r.Image.Name] {
			again = append(again, mine)
		} else {
			fresh = append(fresh, mine)
		}
	}
	return fresh, again, st.all[i]
}

// reannotate asks every batching member which of its images need their
// annotation sent again, and keeps each member's answer (its ids and its
// overwrite flag) for annotate. That answer may name images another member
// lacks: those come through upload, which skips the member that has them,
// and annotate still sends them their annotation. The runner gets every
// name any member listed (with the first member's id), and all when any
// member overwrites; annotate sends each member only its own.
func (s *Sink) reannotate(ctx context.Context, ds []string) (map[string]int64, bool, error) {
	st := s.dataset(ds)
	lists := make([]map[string]int64, len(s.sinks))
	alls := make([]bool, len(s.sinks))
	err := s.each(func(i int, _ core.Sink) error {
		bo := s.feats[i].Batch
		if bo == nil {
			return nil
		}
		var err error
		lists[i], alls[i], err = bo.Reannotate(ctx, ds)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	out, all := map[string]int64{}, false
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ids := range lists {
		if s.feats[i].Batch == nil {
			continue
		}
		for n := range st.again[i] { // a dataset's earlier answer (one video per dataset: rare)
			delete(st.ids[i], n)
		}
		st.again[i], st.all[i] = map[string]bool{}, alls[i]
		all = all || alls[i]
		for n, id := range ids {
			if !s.o.NoAnnotate { // else no annotate will take them
				st.ids[i][n], st.again[i][n] = id, true
			}
			if _, ok := out[n]; !ok {
				out[n] = id
			}
		}
	}
	return out, all, nil
}

// imageSize is the size the first batching member that knows it holds.
func (s *Sink) imageSize(ds []string, name string) (int, int, bool) {
	for _, f := range s.feats {
		if f.Batch != nil && f.Batch.ImageSize != nil {
			if w, h, ok := f.Batch.ImageSize(ds, name); ok {
				return w, h, true
			}
		}
	}
	return 0, 0, false
}

// forgetMember drops member i's pending annotations of regs (sent, or
// failed: the runner does not send them again).
func (s *Sink) forgetMember(st *dataset, i int, regs []core.Registered) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range regs {
		delete(st.ids[i], r.Image.Name)
		delete(st.again[i], r.Image.Name)
	}
}

// forget drops every member's pending annotations of this run's images
// (those its Reannotate listed stay for their own annotate). With partial,
// the images a member took this run are also marked for the video's
// roll-back: the runner does not count them as written.
func (s *Sink) forget(st *dataset, imgs []*core.Image, partial bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.sinks {
		for _, img := range imgs {
			if !st.again[i][img.Name] {
				delete(st.ids[i], img.Name)
			}
			if partial && st.written[i][img.Name] {
				st.partial[i][img.Name] = true
			}
		}
	}
}

func names(imgs []*core.Image) []string {
	out := make([]string, len(imgs))
	for k, img := range imgs {
		out[k] = img.Name
	}
	return out
}

func imagesOf(regs []core.Registered) []*core.Image {
	out := make([]*core.Image, len(regs))
	for k, r := range regs {
		out[k] = r.Image
	}
	return out
}
