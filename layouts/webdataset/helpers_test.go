package webdataset_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

var ctx = context.Background()

func closeSink(t testing.TB, s core.Sink) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// published is what readers see under root.
func published(t testing.TB, root string) map[string][]byte {
	t.Helper()
	return wdstest.Published(readAll(t.(*testing.T), root))
}

func sameTree(t testing.TB, got, want map[string][]byte) { t.Helper(); wdstest.SameTree(t, got, want) }

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newSink opens a sink on st as a writer among others (shards) and begins
// it (meta.json is the empty project meta).
func newSink(t testing.TB, st store.Store, o webdataset.Options) *webdataset.Sink {
	t.Helper()
	s := webdataset.New(st, o)
	s.SetWriter(core.Writer{Role: "test", Shared: true})
	if _, err := s.Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// reference writes imgs in one plain run (in order, one writer) to a fresh
// folder and returns what readers see there.
func reference(t *testing.T, o webdataset.Options, imgs []*core.Image) map[string][]byte {
	t.Helper()
	root := t.TempDir()
	s := newSink(t, localstore.New(root), o)
	wdstest.PutAll(t, s, imgs, 1)
	closeSink(t, s)
	return published(t, root)
}

// counting counts what is written through a store: Puts per key, Update
// calls that wrote, keys deleted.
type counting struct {
	store.Store
	mu      sync.Mutex
	puts    map[string]int
	updates map[string]int
	deletes []string
}

func countWrites(st store.Store) *counting {
	return &counting{Store: st, puts: map[string]int{}, updates: map[string]int{}}
}

func (c *counting) Put(ctx context.Context, key string, data []byte) error {
	c.mu.Lock()
	c.puts[key]++
	c.mu.Unlock()
	return c.Store.Put(ctx, key, data)
}

func (c *counting) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	return c.Store.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		b, err := fn(old, exists)
		if err == nil && b != nil {
			c.mu.Lock()
			c.updates[key]++
			c.mu.Unlock()
		}
		return b, err
	})
}

func (c *counting) Delete(ctx context.Context, keys ...string) error {
	c.mu.Lock()
	c.deletes = append(c.deletes, keys...)
	c.mu.Unlock()
	return c.Store.Delete(ctx, keys...)
}

// shardPuts are the shards (split/name) put, sorted.
func (c *counting) shardPuts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.puts {
		if strings.Contains(k, "/shard-") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// existing lists, per destination dataset of imgs, the names a sink has.
func existing(t testing.TB, s core.Sink, imgs []*core.Image) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	done := map[string]bool{}
	for _, img := range imgs {
		d := strings.Join(img.Dataset, "/")
		if done[d] {
			continue
		}
		done[d] = true
		have, err := s.Existing(ctx, img.Dataset)
		if err != nil {
			t.Fatal(err)
		}
		for n := range have {
			out[d+"/"+n] = true
		}
	}
	return out
}

// missing are the images of imgs a sink does not have (what a re-run puts).
func missing(t testing.TB, s core.Sink, imgs []*core.Image) []*core.Image {
	t.Helper()
	have := existing(t, s, imgs)
	var out []*core.Image
	for _, img := range imgs {
		if !have[strings.Join(img.Dataset, "/")+"/"+img.Name] {
			out = append(out, img)
		}
	}
	return out
}
