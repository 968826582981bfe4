// Package fanout is several sinks fed by one decode (config `sinks: [...]`).
// A frame is skipped only when every sink has it; otherwise it is decoded and
// encoded once and each sink that lacks it gets it. A video rolled back is
// rolled back in every sink that this run wrote it to, and only there: an
// image a sink already had before the run stays.
//
// Its Features are what it can run on its members (see Features): with a
// batching member (the Supervisely platform) the fan-out is itself a batching
// sink that uploads to that member in batches and puts each image into the
// others (batch.go).
package fanout

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Sink writes to every one of its members (New). The zero Sink has none.
type Sink struct {
	sinks []core.Sink
	o     Options

	feats []core.SinkFeatures // each member's, read once
	mu    sync.Mutex
	state map[string]*dataset // per destination dataset, made on first use
}

// Options tune a fan-out; the zero value is the defaults.
type Options struct {
	// Workers is how many of a batch's images go at once into each member
	// that takes images one at a time, inside the upload stage
	// (stages.write.workers; 0 = DefaultWorkers).
	Workers int
	// NoAnnotate says the run never sends annotations through Annotate
	// (sampling.copy_annotations false): the ids batching members give are
	// then not kept for it, so the fan-out's state does not grow with the run.
	NoAnnotate bool
}

// DefaultWorkers is Options.Workers' default.
const DefaultWorkers = 4

// dataset is what the fan-out knows of one destination dataset, per member
// (the slices are indexed like Sinks). It is kept for the run.
type dataset struct {
	had     []map[string]bool // images it had before this run wrote them
	written []map[string]bool // images this run wrote
	partial []map[string]bool // images it took while another sink refused them
	// Of a batching member: the images whose annotation is still to go to it,
	// with its own id for each (registered by this run's upload, or listed by
	// its Reannotate); again are those its Reannotate listed, and all says
	// that Reannotate asked to overwrite.
	ids   []map[string]int64
	again []map[string]bool
	all   []bool
}

// New fans out to sinks, with the default Options.
func New(sinks ...core.Sink) *Sink { return NewWith(Options{}, sinks...) }

// NewWith fans out to sinks with o.
func NewWith(o Options, sinks ...core.Sink) *Sink {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	s := &Sink{sinks: sinks, o: o}
	for _, k := range sinks {
		s.feats = append(s.feats, k.Features())
	}
	return s
}

// Features are what the fan-out can run on its members. Admit reaches every
// member that admits writers. Batch is offered when any member batches: the
// upload stage then gives each member a batch the way it takes images (see
// batch.go), so stages.batch and a platform member's own settings
// (overwrite_annotations, re-sending what an interrupted run left out) apply
// inside sinks: [...] as they do to a single sink. Members lets plan show
// each member's state. Plan reaches every member that splits videos, and
// LeftOut every member that leaves labels out.
func (s *Sink) Features() core.SinkFeatures {
	f := core.SinkFeatures{Members: slices.Clone(s.sinks)}
	for _, m := range s.feats {
		if m.Admit != nil {
			f.Admit = s.admit
		}
		if m.Batch != nil {
			f.Batch = &core.BatchOps{Upload: s.upload, Annotate: s.annotate, Reannotate: s.reannotate, ImageSize: s.imageSize}
		}
		if m.Plan != nil {
			f.Plan = s.plan
		}
		if m.LeftOut != nil {
			f.LeftOut = s.leftOut
		}
	}
	return f
}

// plan plans every member that splits videos, in order; a video's split is
// the members' one when they agree, else each member's, named by its number
// ("train (sink 1), val (sink 3)").
func (s *Sink) plan(ctx context.Context, items []*core.Item, dry bool) (map[string]string, error) {
	var each []map[string]string
	var which []int
	for i, m := range s.feats {
		if m.Plan == nil {
			continue
		}
		got, err := m.Plan(ctx, items, dry)
		if err != nil {
			return nil, s.wrap(i, err)
		}
		each, which = append(each, got), append(which, i)
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		id := it.ID()
		var parts []string
		same := true
		for j, got := range each {
			same = same && got[id] == each[0][id]
			parts = append(parts, fmt.Sprintf("%s (sink %d)", got[id], which[j]+1))
		}
		if same {
			out[id] = each[0][id]
		} else {
			out[id] = strings.Join(parts, ", ")
		}
	}
	return out, nil
}

// leftOut is every member's count of labels left out.
func (s *Sink) leftOut() []core.LeftOut {
	var out []core.LeftOut
	for _, m := range s.feats {
		if m.LeftOut != nil {
			out = append(out, m.LeftOut()...)
		}
	}
	return out
}

// admit tells every member that admits writers who this run is.
func (s *Sink) admit(w core.Writer) {
	for _, m := range s.feats {
		if m.Admit != nil {
			m.Admit(w)
		}
	}
}

// dataset is the state of one destination dataset, made on first use.
func (s *Sink) dataset(ds []string) *dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.Join(ds, "\x00")
	if s.state == nil {
		s.state = map[string]*dataset{}
	}
	st := s.state[k]
	if st == nil {
		n := len(s.sinks)
		st = &dataset{had: maps(n), written: maps(n), partial: maps(n), again: maps(n), all: make([]bool, n)}
		for range s.sinks {
			st.ids = append(st.ids, map[string]int64{})
		}
		s.state[k] = st
	}
	return st
}

func maps(n int) []map[string]bool {
	out := make([]map[string]bool, n)
	for i := range out {
		out[i] = map[string]bool{}
	}
	return out
}

// Describe names every sink.
func (s *Sink) Describe() string {
	var parts []string
	for _, k := range s.sinks {
		parts = append(parts, k.Describe())
	}
	return strings.Join(parts, " + ")
}

// wrap names the sink an error comes from (the summary shows it).
func (s *Sink) wrap(i int, err error) error {
	return fmt.Errorf("sink %d (%s): %w", i+1, s.sinks[i].Describe(), err)
}

// each runs fn on every sink at once and returns the first error (by sink order).
func (s *Sink) each(fn func(i int, k core.Sink) error) error {
	errs := make([]error, len(s.sinks))
	var wg sync.WaitGroup
	for i, k := range s.sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(i, k); err != nil {
				errs[i] = s.wrap(i, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Begin prepares every sink, after checking every one (so a meta conflict in
// any stops before any is touched); it returns the first sink's merged meta.
func (s *Sink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error) {
	if err := s.Check(ctx, meta); err != nil {
		return nil, err
	}
	var first *sv.ProjectMeta
	for i, k := range s.sinks {
		m, err := k.Begin(ctx, meta, custom)
		if err != nil {
			return nil, s.wrap(i, err)
		}
		if i == 0 {
			first = m
		}
	}
	return first, nil
}

// Check makes every sink's Begin checks, writing nothing.
func (s *Sink) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	for i, k := range s.sinks {
		if err := k.Check(ctx, meta); err != nil {
			return s.wrap(i, err)
		}
	}
	return nil
}

// CheckDataset asks every sink whether the dataset can take this run's images.
func (s *Sink) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	return s.each(func(_ int, k core.Sink) error { return k.CheckDataset(ctx, info) })
}

// Dataset records the custom data in every sink.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	return s.each(func(_ int, k core.Sink) error { return k.Dataset(ctx, info) })
}

// existingEach lists each sink's images of a dataset, and remembers those
// this run did not write, so Put skips them and Delete leaves them.
func (s *Sink) existingEach(ctx context.Context, ds []string) ([]map[string]bool, error) {
	have := make([]map[string]bool, len(s.sinks))
	err := s.each(func(i int, k core.Sink) error {
		m, err := k.Existing(ctx, ds)
		have[i] = m
		return err
	})
	if err != nil {
		return nil, err
	}
	st := s.dataset(ds)
	s.mu.Lock()
	for i, m := range have {
		st.had[i] = map[string]bool{}
		for n := range m {
			if !st.written[i][n] {
				st.had[i][n] = true
			}
		}
	}
	s.mu.Unlock()
	return have, nil
}

// Existing is what every sink has: only those frames are skipped.
func (s *Sink) Existing(ctx context.Context, ds []string) (map[string]bool, error) {
	have, err := s.existingEach(ctx, ds)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for n := range have[0] {
		all := true
		for _, h := range have[1:] {
			all = all && h[n]
		}
		if all {
			out[n] = true
		}
	}
	return out, nil
}

// Put hands the image to every sink that lacks it, at once, and returns when
// all are done (the runner reuses img.Data then). When a sink fails, the
// frame is taken back from the sinks that took it, so a failed Put leaves
// nothing (those where taking it back fails are rolled back with the video).
func (s *Sink) Put(ctx context.Context, img *core.Image) error {
	st := s.dataset(img.Dataset)
	took := make([][]string, len(s.sinks))
	err := s.each(func(i int, k core.Sink) error {
		if len(s.lacking(st, i, []*core.Image{img})) == 0 {
			return nil
		}
		if err := k.Put(ctx, img); err != nil {
			return err
		}
		took[i] = []string{img.Name}
		return nil
	})
	s.settle(ctx, st, img.Dataset, took, err)
	return err
}

// lacking are the images member i did not have before this run.
func (s *Sink) lacking(st *dataset, i int, imgs []*core.Image) []*core.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*core.Image
	for _, img := range imgs {
		if !st.had[i][img.Name] {
			out = append(out, img)
		}
	}
	return out
}

// settle records the images each member took (took[i]). After a failure
// (err) they are taken back where they were taken; where that fails too they
// stay partial, for the video's roll-back.
func (s *Sink) settle(ctx context.Context, st *dataset, ds []string, took [][]string, err error) {
	if err != nil {
		for i, names := range took {
			if len(names) > 0 && s.sinks[i].Delete(context.WithoutCancel(ctx), ds, names) == nil {
				took[i] = nil
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, names := range took {
		for _, n := range names {
			st.written[i][n] = true
			if err != nil {
				st.partial[i][n] = true
			}
		}
	}
}

// Delete rolls images back in each sink this run wrote them to: the names
// given, less those a sink had before the run, plus those a sink took while
// another refused them (the runner does not count such a frame as written).
func (s *Sink) Delete(ctx context.Context, ds []string, names []string) error {
	st := s.dataset(ds)
	return s.each(func(i int, k core.Sink) error {
		s.mu.Lock()
		var mine []string
		for _, n := range names {
			if !st.had[i][n] && !st.partial[i][n] {
				mine = append(mine, n)
			}
		}
		for n := range st.partial[i] {
			mine = append(mine, n)
		}
		s.mu.Unlock()
		sort.Strings(mine)
		if len(mine) == 0 {
			return nil
		}
		if err := k.Delete(ctx, ds, mine); err != nil {
			return err
		}
		s.mu.Lock()
		for _, n := range mine {
			delete(st.written[i], n)
			delete(st.partial[i], n)
		}
		s.mu.Unlock()
		return nil
	})
}

// Close closes every sink.
func (s *Sink) Close() error {
	return s.each(func(_ int, k core.Sink) error { return k.Close() })
}
