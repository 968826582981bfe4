package webdataset_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// faulty fails shard Puts after the first ok ones: once (a write refused,
// the writer goes on), or for good, every call from then on failing as if
// the process had died (its lease is neither renewed nor given back).
type faulty struct {
	store.Store
	mu   sync.Mutex
	ok   int  // shard Puts that succeed
	die  bool // after them, every call fails
	dead bool
	n    int
}

var errFault = errors.New("injected fault")

func (f *faulty) check(key string, put bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return errFault
	}
	if put && strings.Contains(key, "/shard-") {
		if f.n++; f.n > f.ok {
			f.dead = f.die
			if !f.die {
				f.ok = 1 << 30 // fail once
			}
			return errFault
		}
	}
	return nil
}

func (f *faulty) Put(ctx context.Context, key string, data []byte) error {
	if err := f.check(key, true); err != nil {
		return err
	}
	return f.Store.Put(ctx, key, data)
}

func (f *faulty) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := f.check(key, false); err != nil {
		return nil, false, err
	}
	return f.Store.Get(ctx, key)
}

func (f *faulty) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	if err := f.check(key, false); err != nil {
		return err
	}
	return f.Store.Update(ctx, key, fn)
}

func (f *faulty) Delete(ctx context.Context, keys ...string) error {
	if err := f.check("", false); err != nil {
		return err
	}
	return f.Store.Delete(ctx, keys...)
}

func (f *faulty) List(ctx context.Context, prefix string, fn func(string, int64) error) error {
	if err := f.check(prefix, false); err != nil {
		return err
	}
	return f.Store.List(ctx, prefix, fn)
}

// An assembly that dies after rewriting two of the shards it relays (the
// samples of a video that sorts first arrived last) leaves its lease: the
// next writer waits for the lease to go stale, takes it over, reads every
// shard again, and the split ends as one plain run's.
func TestAssemblyDiesMidway(t *testing.T) {
	defer webdataset.SetLeaseTimings(300*time.Millisecond, 20*time.Millisecond, 50*time.Millisecond)()
	for _, die := range []bool{true, false} {
		imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
		want := reference(t, opts, imgs)
		late := imgs[:5] // video a.mp4, the first in order
		root := t.TempDir()
		first := newSink(t, localstore.New(root), opts)
		wdstest.PutAll(t, first, imgs[5:], 2)
		closeSink(t, first)
		second := newSink(t, &faulty{Store: localstore.New(root), ok: 2, die: die}, opts)
		wdstest.PutAll(t, second, late, 1)
		if err := second.Close(); !errors.Is(err, errFault) {
			t.Fatalf("die=%v: Close of the faulty writer: %v", die, err)
		}
		if got := published(t, root); len(got) > 0 && sameBytes(got, want) {
			t.Fatalf("die=%v: the fault came too late to test anything", die)
		}
		m := string(readAll(t, root)["train/.vpipe/manifest.json"])
		if die && !strings.Contains(m, `"lease"`) || !die && !strings.Contains(m, `"dirty": true`) {
			t.Fatalf("die=%v: the manifest after the fault:\n%s", die, m)
		}
		start := time.Now()
		third := newSink(t, localstore.New(root), opts)
		wdstest.PutAll(t, third, missing(t, third, imgs), 1)
		closeSink(t, third)
		if waited := time.Since(start); die && waited < 300*time.Millisecond {
			t.Errorf("the dead writer's lease was taken after %v, before it went stale", waited)
		}
		sameTree(t, published(t, root), want)
	}
}

func sameBytes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || string(x) != string(y) {
			return false
		}
	}
	return true
}

var _ core.Sink = (*webdataset.Sink)(nil)
