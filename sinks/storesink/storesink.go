// Package storesink makes a store a sink: the layout a store sink's
// `format:` names (registered by the layout packages: layouts/project, the
// Supervisely image project, by default; layouts/coco, layouts/yolo)
// written on any store.Store, a folder (stores/local) or a bucket prefix
// (stores/s3) alike. Every layout writes each object whole (a rename, one
// PUT), merges shared files with the store's Update (a lock, or a
// conditional write), and admits each writer first on a store that has
// writer locks.
//
// With `split:` the sink splits videos (split.go): the split of each video
// is decided once a run from the source's whole listing, kept in the store,
// and handed to the layout. Labels a layout leaves out are logged once per
// class and geometry.
//
// It registers itself as the registry's store sink: importing it makes every
// registered store a sink type.
package storesink

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/split"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

func init() { registry.SetStoreSink(New) }

// New lays out on st the layout out names (nil: the default, no split).
func New(_ context.Context, st store.Store, out *registry.Output, d registry.Deps) (core.Sink, error) {
	if out == nil {
		out = registry.NewOutput()
	}
	spec, ok := registry.Lookup(registry.Layout, out.Format)
	if !ok {
		return nil, fmt.Errorf("format: unknown %q (available: %s)", out.Format, strings.Join(registry.Names(registry.Layout), ", "))
	}
	conf := out.Layout
	if conf == nil {
		conf = spec.Config(registry.Layout)
	}
	o := registry.LayoutOptions{OnSkip: tellSkip(d.Log, st.Describe(), out.Format)}
	var sp *splitter
	if len(out.Split) > 0 {
		plan, err := split.New(out.Split)
		if err == nil {
			err = spec.CheckSplitNames(out.Split)
		}
		if err != nil {
			return nil, fmt.Errorf("sink.split: %w", err)
		}
		sp = newSplitter(st, spec.SplitsKey, plan, spec.Written)
		o.Split = sp.split
	}
	sink, err := spec.NewLayout(st, conf, o)
	switch {
	case err != nil:
		return nil, err
	case sp != nil:
		return &splitSink{Sink: sink, sp: sp}, nil
	case spec.SplitsKey != "":
		return &unsplitSink{Sink: sink, st: st, key: spec.SplitsKey}, nil
	}
	return sink, nil
}

// unsplitSink is a layout without sink.split on a store that may have been
// written with it: Begin refuses an output that keeps splits, whose videos
// this run would write again outside them.
type unsplitSink struct {
	core.Sink
	st  store.Store
	key string
}

func (s *unsplitSink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error) {
	_, found, err := s.st.Get(ctx, s.key)
	if err != nil {
		return nil, err
	}
	if found {
		return nil, fmt.Errorf("%s: this output was written with sink.split, which is not set now: its videos "+
			"would be written again outside their splits; set sink.split as before, or write to a new output", s.st.Name(s.key))
	}
	return s.Sink.Begin(ctx, meta, custom)
}

// tellSkip logs, once per class, geometry and reason (the layout calls it
// so), that the format leaves labels out, and why.
func tellSkip(log *slog.Logger, sink, format string) func(class, geometry, why string) {
	return func(class, geometry, why string) {
		if log == nil {
			return
		}
		if why == "" {
			why = fmt.Sprintf("format %s cannot carry %s labels", format, geometry)
		}
		log.Warn("label left out", "sink", sink, "class", class, "geometry", geometry,
			"why", why+": each is left out and counted (the run's summary has the totals)")
	}
}

// splitSink is a layout whose videos are split: it adds the Plan ability.
type splitSink struct {
	core.Sink
	sp *splitter
}

// Features are the layout's, with Plan: the splits first, then the
// layout's own Plan if it has one (a layout that orders its output by the
// listing).
func (s *splitSink) Features() core.SinkFeatures {
	f := s.Sink.Features()
	own := f.Plan
	f.Plan = func(ctx context.Context, items []*core.Item, dry bool) (map[string]string, error) {
		got, err := s.sp.plan(ctx, items, dry)
		if err != nil || own == nil {
			return got, err
		}
		if _, err := own(ctx, items, dry); err != nil {
			return nil, err
		}
		return got, nil
	}
	return f
}
