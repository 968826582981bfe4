package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// testConf is a config struct as a backend writes one.
type testConf struct {
	Where string `mapstructure:"where" required:"true" doc:"the folder"`
	Depth int    `mapstructure:"depth" doc:"how deep"`
	Inner struct {
		On bool `mapstructure:"on"`
	} `mapstructure:"inner"`
	Hidden string // no tag: no key
}

// A store registers once and is a sink type, and a source type only when
// it says so; its constructor gets the role it is built for.
func TestStoreIsSinkAndMaybeSource(t *testing.T) {
	var roles []registry.Kind
	mk := func(name string, source bool) {
		registry.Register(registry.Spec{Kind: registry.Store, Name: name, StoreSource: source, Summary: "a test store",
			Config: func(role registry.Kind) any {
				return &testConf{Depth: map[registry.Kind]int{registry.Source: 1, registry.Sink: 2}[role]}
			},
			NewStore: func(_ context.Context, conf any, d registry.Deps) (store.Store, error) {
				roles = append(roles, d.Role)
				return localstore.New(conf.(*testConf).Where), nil
			}})
	}
	mk("test-store-sink", false)
	mk("test-store-both", true)
	if _, ok := registry.Lookup(registry.Source, "test-store-sink"); ok {
		t.Error("a store that is no source is found as a source")
	}
	if s, ok := registry.Lookup(registry.Source, "test-store-both"); !ok || s.Kind != registry.Store {
		t.Errorf("a store that is a source: %+v %v", s, ok)
	}
	if n := registry.Names(registry.Sink); !slices.Contains(n, "test-store-sink") || !slices.Contains(n, "test-store-both") || !slices.IsSorted(n) {
		t.Errorf("sink names %v", n)
	}
	spec, _ := registry.Lookup(registry.Sink, "test-store-both")
	conf := spec.Config(registry.Sink).(*testConf)
	conf.Where = t.TempDir()
	var got store.Store
	registry.SetStoreSink(func(_ context.Context, st store.Store, _ *registry.Output, _ registry.Deps) (core.Sink, error) {
		got = st
		return nil, errors.New("adapted")
	})
	if _, err := registry.NewSink(context.Background(), spec, conf, nil, registry.Deps{}); err == nil || err.Error() != "adapted" || got == nil {
		t.Fatalf("NewSink: %v (store %v)", err, got)
	}
	if _, err := registry.NewSource(context.Background(), spec, conf, registry.Deps{}); err == nil || !strings.Contains(err.Error(), "no store source adapter") {
		t.Fatalf("NewSource without an adapter: %v", err)
	}
	if !slices.Equal(roles, []registry.Kind{registry.Sink}) {
		t.Fatalf("the store was built for %v", roles)
	}
}

// Fields reads keys, docs and required marks from the tags, nested keys
// dotted; Missing names the required keys left empty.
func TestFields(t *testing.T) {
	var keys []string
	for _, f := range registry.Fields(&testConf{}) {
		keys = append(keys, f.Key)
	}
	if strings.Join(keys, " ") != "where depth inner.on" {
		t.Fatalf("keys %v", keys)
	}
	c := &testConf{Depth: 3}
	if f := registry.Fields(c)[1]; f.Doc != "how deep" || f.Required || f.Value(c).Int() != 3 {
		t.Fatalf("%+v", f)
	}
	if m := registry.Missing(c); !slices.Equal(m, []string{"where"}) {
		t.Fatalf("missing %v", m)
	}
}

// A second default of one role is a programming error; the same one again is
// not. A spec that is not a pointer to a struct, or registered twice, panics.
func TestRegistrationMistakesPanic(t *testing.T) {
	panics := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	registry.SetDefault("test-role", "a")
	registry.SetDefault("test-role", "a")
	panics("a second default", func() { registry.SetDefault("test-role", "b") })
	if registry.Default("test-role") != "a" {
		t.Error("the default changed")
	}
	src := registry.Spec{Kind: registry.Source, Name: "test-src", Config: func(registry.Kind) any { return &testConf{} },
		NewSource: func(context.Context, any, registry.Deps) (core.Source, error) { return nil, nil }}
	registry.Register(src)
	panics("a second registration", func() { registry.Register(src) })
	bad := src
	bad.Name, bad.Config = "test-bad", func(registry.Kind) any { return testConf{} }
	panics("a config that is no pointer", func() { registry.Register(bad) })
	noCtor := src
	noCtor.Name, noCtor.NewSource = "test-noctor", nil
	panics("no constructor", func() { registry.Register(noCtor) })
}

// The reference page lists each type's keys with their per-role defaults.
func TestMarkdown(t *testing.T) {
	registry.Register(registry.Spec{Kind: registry.Store, Name: "test-md", StoreSource: true, Summary: "for the page",
		Config: func(role registry.Kind) any {
			return &testConf{Depth: map[registry.Kind]int{registry.Source: 1, registry.Sink: 2}[role]}
		},
		NewStore: func(context.Context, any, registry.Deps) (store.Store, error) { return nil, nil }})
	page := registry.Markdown()
	for _, want := range []string{"### `test-md` (a source and a sink type)", "for the page",
		"| `where` | string | — | yes | the folder |", "| `depth` | integer | source `1`, sink `2` |  | how deep |"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}

// OpenStore's refusal lists the stores, not the services that are sinks only.
func TestOpenStoreListsStores(t *testing.T) {
	registry.Register(registry.Spec{Kind: registry.Sink, Name: "test-service", Config: func(registry.Kind) any { return &testConf{} },
		NewSink: func(context.Context, any, registry.Deps) (core.Sink, error) { return nil, nil }})
	registry.Register(registry.Spec{Kind: registry.Store, Name: "test-nowhere", Config: func(registry.Kind) any { return &testConf{} },
		Locate:   func(string) (any, bool) { return nil, false },
		NewStore: func(context.Context, any, registry.Deps) (store.Store, error) { return nil, nil }})
	_, err := registry.OpenStore(context.Background(), "ftp://h/p", nil, registry.Deps{})
	if err == nil || !strings.Contains(err.Error(), "test-nowhere") || strings.Contains(err.Error(), "test-service") {
		t.Fatalf("OpenStore = %v; want the stores listed, no sink that is not one", err)
	}
}

// Deps.Key names a key of the section a backend is built for: the section
// the run gives, else the role's.
func TestDepsKey(t *testing.T) {
	for _, c := range []struct {
		d    registry.Deps
		want string
	}{
		{registry.Deps{Prefix: "sinks[1]", Role: registry.Sink}, "sinks[1].url"},
		{registry.Deps{Role: registry.Source}, "source.url"},
		{registry.Deps{}, "sink.url"},
	} {
		if got := c.d.Key("url"); got != c.want {
			t.Errorf("%+v.Key(url) = %q, want %q", c.d, got, c.want)
		}
	}
}
