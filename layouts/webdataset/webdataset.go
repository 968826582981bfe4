// Package webdataset is the WebDataset layout over a store.Store: tar shards
// <split>/shard-000000.tar, … of samples <key>.<png|jpg|webp> and <key>.json
// (the image annotation in the Supervisely form with the frame's meta), an
// index <split>/index.parquet with a row per sample, and at the root the
// project's meta.json (its classes and tags) and custom_data.json, as the
// project layout writes them.
//
// A shard cannot grow image by image on an object store, and its content must
// not depend on the order in which frames arrive (several videos decode at
// once). So each Put stages its sample as one small object,
// <split>/.vpipe/staging/<key>/<stamp>.<frame>.<ext> holding the sample's tar
// members exactly as they will sit in a shard, and Close assembles the shards
// from the staged samples and those already in shards, in a fixed order
// (videos as a walk of the source's folders gives them, frames by index): the
// same samples always give the same bytes. An assembly relays only from the
// first shard that changes: a re-run writes nothing, and a run resumed after
// an interruption rewrites the shard that was open and adds the ones after.
//
// Writers of one split (shards, queue workers, a re-run) agree through the
// split's manifest, <split>/.vpipe/manifest.json, changed only by the store's
// compare-and-swap Update: an assembly runs under a lease taken there, so
// assemblies of a split run one at a time, each from what the last one
// committed plus what is staged; the last finisher's assembly sees every
// sample, and the shards end as one plain run's. See docs/formats.md.
package webdataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Options say how samples are cut into shards and sent to splits.
type Options struct {
	// ShardSize is the most samples a shard holds (0: 1000, or no limit when
	// ShardBytes is set).
	ShardSize int
	// ShardBytes is the most bytes a shard holds (0: DefaultShardBytes); a
	// sample larger than that is a shard alone. It bounds memory too: a shard
	// is made in memory before it is stored.
	ShardBytes int64
	// Split names the split of a video from its source dataset path and name
	// (nil: every video in "train").
	Split func(dataset []string, video string) string
}

// Defaults of Options.
const (
	DefaultShardSize  = 1000
	DefaultShardBytes = 256 << 20
)

// Sink writes the layout to a store.
type Sink struct {
	st   store.Store
	proj *project.Sink // meta.json and custom_data.json at the root, writer admission
	opt  Options

	stamp atomic.Int64 // the last stamp given to a staged sample

	mu      sync.Mutex
	touched map[string]bool         // splits this sink staged, deleted or listed in
	views   map[string]*shardedView // per split: its sharded samples, by manifest epoch
}

// New lays WebDataset shards out in st.
func New(st store.Store, o Options) *Sink {
	switch {
	case o.ShardSize == 0 && o.ShardBytes == 0:
		o.ShardSize, o.ShardBytes = DefaultShardSize, DefaultShardBytes
	case o.ShardBytes == 0:
		o.ShardBytes = DefaultShardBytes
	}
	if o.Split == nil {
		o.Split = func([]string, string) string { return "train" }
	}
	return &Sink{st: st, proj: project.New(st), opt: o, touched: map[string]bool{}, views: map[string]*shardedView{}}
}

// Describe names the sink.
func (s *Sink) Describe() string { return "webdataset " + s.st.Describe() }

// SetWriter says who this run is; call it before Begin.
func (s *Sink) SetWriter(w core.Writer) { s.proj.SetWriter(w) }

// Features: one image at a time (Put), writers admitted as the project layout
// admits them.
func (s *Sink) Features() core.SinkFeatures { return core.SinkFeatures{Admit: s.SetWriter} }

// Begin merges meta into the root's meta.json and writes the project's custom
// data, as the project layout does (the classes the annotations name).
func (s *Sink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error) {
	return s.proj.Begin(ctx, meta, custom)
}

// Check makes Begin's checks and writes nothing.
func (s *Sink) Check(ctx context.Context, meta *sv.ProjectMeta) error { return s.proj.Check(ctx, meta) }

// datasetData is where a destination dataset's custom data is kept.
func datasetData(dataset []string) (string, error) {
	dir, err := DatasetKey(dataset)
	if err != nil {
		return "", err
	}
	return vpipeDir + "/datasets/" + dir + "/" + project.CustomDataFile, nil
}

// Dataset records a destination dataset's custom data (provenance, output
// settings) in .vpipe/datasets/<dataset key>/custom_data.json, after
// CheckDataset's checks.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	if err := s.CheckDataset(ctx, info); err != nil {
		return err
	}
	key, _ := datasetData(info.Dataset)
	nb, err := project.MarshalJSON(info.Custom)
	if err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(key), err)
	}
	return s.st.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		if exists && bytes.Equal(old, nb) {
			return nil, nil
		}
		return nb, nil
	})
}

// CheckDataset tells, writing nothing, whether a dataset can take this run's
// images: its names fit the layout, and if it holds samples, the output
// settings recorded for it are this run's.
func (s *Sink) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	key, err := datasetData(info.Dataset)
	if err != nil {
		return err
	}
	b, found, err := s.st.Get(ctx, key)
	if err != nil || !found {
		return err
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(key), err)
	}
	if err := project.SameOutput(have[core.OutputKey], info.Custom[core.OutputKey]); err != nil {
		if names, lerr := s.Existing(ctx, info.Dataset); lerr == nil && len(names) == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w; write to another %s, or remove that dataset's samples", s.st.Name(key), err, s.st.Features().Key)
	}
	return nil
}

// split is the split of a destination dataset (source dataset path + video).
func (s *Sink) split(dataset []string) (string, error) {
	n := len(dataset)
	if n == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	sp := s.opt.Split(dataset[:n-1], dataset[n-1])
	if err := checkSplit(sp); err != nil {
		return "", err
	}
	return sp, nil
}

// touch marks a split for Close to assemble.
func (s *Sink) touch(split string) {
	s.mu.Lock()
	s.touched[split] = true
	s.mu.Unlock()
}

// Close assembles the shards of every split this sink staged or deleted
// samples in, or found something to assemble in (Existing: samples an
// interrupted run left staged, an assembly that failed), then lets go of what
// the store holds. A sink that only listed a finished split (plan, a re-run
// with nothing to do) writes nothing.
func (s *Sink) Close() error {
	s.mu.Lock()
	splits := make([]string, 0, len(s.touched))
	for sp := range s.touched {
		splits = append(splits, sp)
	}
	s.mu.Unlock()
	sort.Strings(splits)
	var errs []error
	for _, sp := range splits {
		if err := s.Assemble(context.Background(), sp); err != nil {
			errs = append(errs, fmt.Errorf("assembling the shards of split %s: %w", sp, err))
		}
	}
	errs = append(errs, s.proj.Close())
	return errors.Join(errs...)
}

// stampNow is a stamp for a staged sample: nanoseconds, increasing within
// this writer.
func (s *Sink) stampNow() int64 {
	for {
		last, now := s.stamp.Load(), time.Now().UnixNano()
		if now <= last {
			now = last + 1
		}
		if s.stamp.CompareAndSwap(last, now) {
			return now
		}
	}
}
