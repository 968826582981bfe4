// Package fanout is several sinks fed by one decode (config `sinks: [...]`).
// A frame is skipped only when every sink has it; otherwise it is decoded and
// encoded once and each sink that lacks it gets it. A video rolled back is
// rolled back in every sink that this run wrote it to, and only there: an
// image a sink already had before the run stays.
package fanout

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Sink writes to every one of Sinks.
type Sink struct {
	Sinks []core.Sink

	mu    sync.Mutex
	state map[string]*dataset // per destination dataset
}

type dataset struct {
	had     []map[string]bool // per sink: images it had before this run wrote them
	written []map[string]bool // per sink: images this run wrote
	partial []map[string]bool // per sink: images it took while another sink refused them
}

// New fans out to sinks.
func New(sinks ...core.Sink) *Sink { return &Sink{Sinks: sinks, state: map[string]*dataset{}} }

// dataset is the state of one destination dataset, made on first use.
func (s *Sink) dataset(ds []string) *dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.Join(ds, "\x00")
	st := s.state[k]
	if st == nil {
		st = &dataset{}
		for range s.Sinks {
			st.had = append(st.had, map[string]bool{})
			st.written = append(st.written, map[string]bool{})
			st.partial = append(st.partial, map[string]bool{})
		}
		s.state[k] = st
	}
	return st
}

// Describe names every sink.
func (s *Sink) Describe() string {
	var parts []string
	for _, k := range s.Sinks {
		parts = append(parts, k.Describe())
	}
	return strings.Join(parts, " + ")
}

// wrap names the sink an error comes from (the summary shows it).
func (s *Sink) wrap(i int, err error) error {
	return fmt.Errorf("sink %d (%s): %w", i+1, s.Sinks[i].Describe(), err)
}

// each runs fn on every sink at once and returns the first error (by sink order).
func (s *Sink) each(fn func(i int, k core.Sink) error) error {
	errs := make([]error, len(s.Sinks))
	var wg sync.WaitGroup
	for i, k := range s.Sinks {
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
	for i, k := range s.Sinks {
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
	for i, k := range s.Sinks {
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

// ExistingEach lists each sink's images of a dataset, and remembers those
// this run did not write, so Put skips them and Delete leaves them.
func (s *Sink) ExistingEach(ctx context.Context, ds []string) ([]map[string]bool, error) {
	have := make([]map[string]bool, len(s.Sinks))
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
	have, err := s.ExistingEach(ctx, ds)
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
	took := make([]bool, len(s.Sinks))
	err := s.each(func(i int, k core.Sink) error {
		s.mu.Lock()
		had := st.had[i][img.Name]
		s.mu.Unlock()
		if had {
			return nil
		}
		if err := k.Put(ctx, img); err != nil {
			return err
		}
		took[i] = true
		return nil
	})
	if err != nil {
		for i, ok := range took {
			if ok && s.Sinks[i].Delete(context.WithoutCancel(ctx), img.Dataset, []string{img.Name}) == nil {
				took[i] = false
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ok := range took {
		if ok {
			st.written[i][img.Name] = true
			if err != nil {
				st.partial[i][img.Name] = true
			}
		}
	}
	return err
}

// SetWriter tells every sink that admits writers who this run is.
func (s *Sink) SetWriter(w core.Writer) {
	for _, k := range s.Sinks {
		if a, ok := k.(core.Admitting); ok {
			a.SetWriter(w)
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
