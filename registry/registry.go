// Package registry is where backends make themselves known. Each source, sink
// and store registers a Spec from its own package's init(), as Redpanda
// Connect components and rclone's fs.Register do: its name (the value of
// `type:`), its config struct with defaults and documentation, its checks and
// its constructor. config, cmd, queue and metrics read the specs and never name
// a backend; a binary gets a backend by importing its package (cmd/vpipe
// imports them all through backends/all).
//
// A store (where bytes live: a folder, a bucket) registers once and is then both
// a sink type (a dataset layout written on it, by the adapter the store sink
// package sets with SetStoreSink) and, when its spec says so, a source type (by
// the adapter of SetStoreSource). A service that is not a store (the
// Supervisely platform) registers a source and a sink of its own.
//
// A layout (the Supervisely project, COCO, YOLO: how a dataset is laid out on
// a store) registers a Spec of Kind Layout: its name is a store sink's
// `format:`, its config the keys of its own section (sink.<name>.*).
//
// The package is free of cgo: config imports it.
package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/store"
)

// Kind is what a spec builds.
type Kind string

const (
	Source Kind = "source"
	Sink   Kind = "sink"
	Store  Kind = "store"
	// Layout is a dataset layout a store sink writes (its `format:`).
	Layout Kind = "layout"
)

// Spec describes one backend. Config structs use `mapstructure:"key"` tags
// (the YAML keys under source:, sink: or sinks[i]), `doc:"..."` (one line for
// the generated reference, docs/backends.md) and `required:"true"`.
type Spec struct {
	Kind Kind
	// Name is the value of `type:` that chooses the backend ("s3").
	Name string
	// Summary is one line for the docs and for `vpipe validate`'s listing.
	Summary string
	// Config returns a new config struct (a pointer) holding the defaults,
	// for the role it plays: a store's settings may default differently as a
	// source (role Source) and as a sink (role Sink).
	Config func(role Kind) any
	// Check returns the problems of a decoded config (keys relative to the
	// section: "url"). Optional.
	Check func(conf any, env CheckEnv) []Problem
	// Uses names the top-level sections the backend reads (e.g. a platform's
	// connection settings), registered with RegisterSection.
	Uses []string
	// Where names what the backend reads or writes, the same from every
	// machine that reaches it (no endpoint, no credentials): the queue checks
	// that a worker writes where a video was queued for.
	Where func(conf any) string
	// LocalPath is the local file or folder a backend reads or writes, if
	// any, and the key (relative to the section: "path") that names it, so a
	// sink is never inside its source. Optional.
	LocalPath func(conf any) (key, path string)
	// StoreSource says a store is also a source of videos.
	StoreSource bool
	// Locate, for a store, is the config (with the sink defaults) of the
	// location loc as a user writes it on a command line (a folder,
	// s3://bucket/prefix), when loc is one of this store's; commands that
	// take a dataset's location (verify, preview) open it with OpenStore.
	Locate func(loc string) (conf any, ok bool)

	// SplitsKey, for a layout, is the object of its store that keeps the
	// split of each video (sink.split), where training tools and the
	// layout's readers do not look.
	SplitsKey string
	// Written, for a layout, says a key of its store is a video's output
	// (an image, a shard, a staged sample): the store sink refuses to start
	// splitting an output that already holds some but no splits file, since
	// those videos would land in a second split.
	Written func(key string) bool
	// ReservedSplits, for a layout, are the split names it cannot write
	// (YOLO: data.yaml's keys that are no split, and images).
	ReservedSplits []string

	// One constructor, the one of Kind.
	NewSource func(ctx context.Context, conf any, d Deps) (core.Source, error)
	NewSink   func(ctx context.Context, conf any, d Deps) (core.Sink, error)
	NewStore  func(ctx context.Context, conf any, d Deps) (store.Store, error)
	// NewLayout lays a dataset out on st; conf is the layout's Config
	// (its section's keys decoded over the defaults).
	NewLayout func(st store.Store, conf any, o LayoutOptions) (core.Sink, error)
}

// LayoutOptions are what the store sink tells every layout.
type LayoutOptions struct {
	// Split names the split of a video from its source dataset path and its
	// name; nil when the sink has no split: (each layout then has its own
	// default: one tree without splits for the Supervisely project, every
	// video in "train" for the training formats).
	Split func(dataset []string, video string) string
	// OnSkip is told once per class, geometry and why of labels the layout
	// leaves out (why: "" when the format cannot carry the geometry, else the
	// reason, formats.Skip.Why); the store sink logs it.
	OnSkip func(class, geometry, why string)
}

// Output is how a store is written as a sink: the keys every store sink
// takes besides its store's own, and the chosen layout's section.
type Output struct {
	Format string             `mapstructure:"format" doc:"the dataset layout written on the store: one of the layouts below"`
	Split  map[string]float64 `mapstructure:"split" doc:"split the videos: split name to fraction of the videos, summing to 1 ({train: 0.8, val: 0.2}); each video goes whole to one split, kept across runs, shards and workers; empty = no split (the training formats put every video in train)"`
	// Layout is the chosen layout's config (its Config, with the keys of
	// its section decoded); nil: its defaults.
	Layout any `mapstructure:"-"`
}

// NewOutput is the default Output: the default layout, no split.
func NewOutput() *Output { return &Output{Format: Default(Layout)} }

// Problem is one thing wrong with a backend's config, under a key relative to
// its section.
type Problem struct {
	Key string
	Msg string
}

// CheckEnv is what a check may need beyond its own section.
type CheckEnv struct {
	// Role is Source or Sink.
	Role Kind
	// SourceType is the configured source's type.
	SourceType string
	// Section returns a decoded top-level section (RegisterSection), or nil.
	Section func(name string) any
	// Prefix is the section's key path ("sink", "sinks[1]"), for a message
	// that names another key of it.
	Prefix string
	// OnDisk: the config was loaded from a file for a run (vpipe run,
	// validate): check also what it names on this machine (a folder
	// exists). False for a config built in code, checked when used.
	OnDisk bool
}

// Deps is what a constructor gets from the run.
type Deps struct {
	Log *slog.Logger
	// Role is Source or Sink (a store is built for one of them).
	Role Kind
	// Section returns a decoded top-level section (RegisterSection).
	Section func(name string) any
	// Shared returns the run's one value under key, made by mk the first
	// time (a platform client shared by the source and the sinks).
	Shared func(key string, mk func() (any, error)) (any, error)
	// Source is the run's source (for a sink; nil while the source is built).
	Source core.Source
	// Prefix is the key path of the section the backend is built from
	// ("source", "sink", "sinks[1]"); "" = its role's. A store names its
	// location's key by it in messages (Key, store.Features.Key).
	Prefix string
}

// Key is a key of the backend's section as messages name it ("sinks[1].url").
func (d Deps) Key(key string) string {
	p := d.Prefix
	if p == "" {
		p = string(d.Role)
	}
	if p == "" {
		p = string(Sink)
	}
	return p + "." + key
}

// SectionSpec is a top-level section of pipeline.yaml that backends share.
type SectionSpec struct {
	Name    string
	Summary string
	// Config returns a new struct (a pointer) holding the defaults.
	Config func() any
	// Check returns the problems of the decoded section (keys relative to
	// it); used tells whether a configured backend Uses it (a setting that
	// matters only then is checked only then). Optional.
	Check func(conf any, used bool) []Problem
	// MaxBatch, when the service takes images in batches, is the most one
	// call takes: while a configured backend uses the section,
	// stages.batch.batch_size must be 1..MaxBatch.
	MaxBatch int
}

var (
	mu       sync.RWMutex
	specs    = map[Kind]map[string]Spec{}
	sections = map[string]SectionSpec{}
	defaults = map[Kind]string{}

	storeSink   func(ctx context.Context, st store.Store, out *Output, d Deps) (core.Sink, error)
	storeSource func(ctx context.Context, st store.Store, conf any, d Deps) (core.Source, error)
)

// Register adds a spec; a second spec of one kind and name is a programming
// error and panics, as does a spec without its constructor.
func Register(s Spec) {
	mu.Lock()
	defer mu.Unlock()
	if s.Name == "" || s.Config == nil {
		panic(fmt.Sprintf("registry: %s spec %q needs a name and a config", s.Kind, s.Name))
	}
	switch {
	case s.Kind == Source && s.NewSource == nil, s.Kind == Sink && s.NewSink == nil, s.Kind == Store && s.NewStore == nil,
		s.Kind == Layout && s.NewLayout == nil:
		panic(fmt.Sprintf("registry: %s %q has no constructor", s.Kind, s.Name))
	}
	role := s.Kind
	if role == Store {
		role = Sink
	}
	Fields(s.Config(role)) // panics on a config that is not a pointer to a struct
	if specs[s.Kind] == nil {
		specs[s.Kind] = map[string]Spec{}
	}
	if _, dup := specs[s.Kind][s.Name]; dup {
		panic(fmt.Sprintf("registry: %s %q registered twice", s.Kind, s.Name))
	}
	specs[s.Kind][s.Name] = s
}

// SetDefault makes name the type a source (role Source) or sink (role Sink)
// has when the config gives none, or the layout (role Layout) a store sink
// writes. A second, different default for one role
// is a programming error and panics.
func SetDefault(role Kind, name string) {
	mu.Lock()
	defer mu.Unlock()
	if d, ok := defaults[role]; ok && d != name {
		panic(fmt.Sprintf("registry: default %s type set to %q and to %q", role, d, name))
	}
	defaults[role] = name
}

// Default is the type a source or sink has when the config gives none ("" if
// no backend set one).
func Default(role Kind) string {
	mu.RLock()
	defer mu.RUnlock()
	return defaults[role]
}

// RegisterSection adds a shared top-level section.
func RegisterSection(s SectionSpec) {
	mu.Lock()
	defer mu.Unlock()
	if s.Name == "" || s.Config == nil {
		panic(fmt.Sprintf("registry: section %q needs a name and a config", s.Name))
	}
	Fields(s.Config())
	if _, dup := sections[s.Name]; dup {
		panic(fmt.Sprintf("registry: section %q registered twice", s.Name))
	}
	sections[s.Name] = s
}

// SetStoreSink sets how a store becomes a sink: out says which layout is
// written on it, with which splits (nil: the default layout, no split).
func SetStoreSink(f func(ctx context.Context, st store.Store, out *Output, d Deps) (core.Sink, error)) {
	mu.Lock()
	defer mu.Unlock()
	storeSink = f
}

// SetStoreSource sets how a store becomes a source of videos.
func SetStoreSource(f func(ctx context.Context, st store.Store, conf any, d Deps) (core.Source, error)) {
	mu.Lock()
	defer mu.Unlock()
	storeSource = f
}

// Lookup finds the spec behind a source or sink type: a spec of that kind, or
// a store (as a sink always; as a source when it says StoreSource); or a
// layout (role Layout) by its format name.
func Lookup(role Kind, name string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	if s, ok := specs[role][name]; ok {
		return s, true
	}
	if s, ok := specs[Store][name]; ok && (role == Sink || role == Source && s.StoreSource) {
		return s, true
	}
	return Spec{}, false
}

// Names lists the source or sink types, or the layouts, sorted.
func Names(role Kind) []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for n := range specs[role] {
		out = append(out, n)
	}
	for n, s := range specs[Store] {
		if (role == Sink || role == Source && s.StoreSource) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Specs lists every registered spec: sources, then sinks, then stores, then
// layouts, each kind sorted by name.
func Specs() []Spec {
	mu.RLock()
	defer mu.RUnlock()
	var out []Spec
	for _, k := range []Kind{Source, Sink, Store, Layout} {
		names := make([]string, 0, len(specs[k]))
		for n := range specs[k] {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			out = append(out, specs[k][n])
		}
	}
	return out
}

// Section finds a shared section.
func Section(name string) (SectionSpec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := sections[name]
	return s, ok
}

// Sections lists the shared sections, sorted by name.
func Sections() []SectionSpec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]SectionSpec, 0, len(sections))
	for _, s := range sections {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SectionSpec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NewSource builds the source of a spec found by Lookup(Source, …).
func NewSource(ctx context.Context, s Spec, conf any, d Deps) (core.Source, error) {
	d.Role = Source
	if s.Kind != Store {
		return s.NewSource(ctx, conf, d)
	}
	mu.RLock()
	adapt := storeSource
	mu.RUnlock()
	if adapt == nil {
		return nil, fmt.Errorf("registry: no store source adapter registered (import sources/storesource)")
	}
	st, err := s.NewStore(ctx, conf, d)
	if err != nil {
		return nil, err
	}
	return adapt(ctx, st, conf, d)
}

// NewSink builds the sink of a spec found by Lookup(Sink, …); out is, for a
// store, the layout written on it (nil: the default, no split).
func NewSink(ctx context.Context, s Spec, conf any, out *Output, d Deps) (core.Sink, error) {
	d.Role = Sink
	if s.Kind != Store {
		return s.NewSink(ctx, conf, d)
	}
	mu.RLock()
	adapt := storeSink
	mu.RUnlock()
	if adapt == nil {
		return nil, fmt.Errorf("registry: no store sink adapter registered (import sinks/storesink)")
	}
	st, err := s.NewStore(ctx, conf, d)
	if err != nil {
		return nil, err
	}
	return adapt(ctx, st, out, d)
}

// Configured is a backend as a config gives it: its type and decoded section,
// and the section's key path ("sink", "sinks[1]").
type Configured struct {
	Type   string
	Conf   any
	Prefix string
}

// OpenStore opens the store at loc (a folder, s3://bucket/prefix, …): the
// store of a configured sink that names exactly loc (so its endpoint and
// settings are kept), else the registered store whose Locate takes loc, a
// location with a scheme (://) before a plain path.
func OpenStore(ctx context.Context, loc string, configured []Configured, d Deps) (store.Store, error) {
	d.Role = Sink
	trim := func(s string) string { return strings.TrimRight(s, "/") }
	for _, c := range configured {
		if s, ok := Lookup(Sink, c.Type); ok && s.Kind == Store && s.Where != nil && trim(s.Where(c.Conf)) == trim(loc) {
			d.Prefix = c.Prefix
			return s.NewStore(ctx, c.Conf, d)
		}
	}
	var plain *Spec
	for _, s := range Specs() {
		if s.Kind != Store || s.Locate == nil {
			continue
		}
		conf, ok := s.Locate(loc)
		if !ok {
			continue
		}
		if strings.Contains(loc, "://") {
			return s.NewStore(ctx, conf, d)
		}
		if plain == nil {
			s := s
			plain = &s
		}
	}
	if plain != nil {
		conf, _ := plain.Locate(loc)
		return plain.NewStore(ctx, conf, d)
	}
	return nil, fmt.Errorf("%s: no store takes this location (stores: %s)", loc, strings.Join(storeNames(), ", "))
}

// storeNames are the registered stores, sorted (not the services that are
// sinks only).
func storeNames() []string {
	var out []string
	for _, s := range Specs() {
		if s.Kind == Store {
			out = append(out, s.Name)
		}
	}
	return out
}

// CheckSplitNames refuses a split name the layout reserves
// (Spec.ReservedSplits), naming it and the reserved ones.
func (s Spec) CheckSplitNames(split map[string]float64) error {
	var bad []string
	for name := range split {
		if slices.Contains(s.ReservedSplits, name) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("split name %q: format %s reserves it (it reserves %s): rename the split",
		bad[0], s.Name, strings.Join(s.ReservedSplits, ", "))
}
