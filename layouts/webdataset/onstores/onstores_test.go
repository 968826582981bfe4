// Package onstores runs the WebDataset layout on the S3, GCS and Azure stores
// against their real servers (versitygw, fake-gcs-server and Azurite, started
// by the tests): the layout suite on each, and writers that finish together.
package onstores

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/layouttest"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// stores are the test servers of the S3, GCS and Azure stores.
var stores layouttest.Servers

func TestMain(m *testing.M) { os.Exit(layouttest.Main(m, &stores)) }

var ctx = context.Background()

// on is one store's way to a fresh root: open makes a handle on a prefix of
// it ("" = the bucket or container), block refuses the uploads under a
// folder of the root (nil when the server cannot; then noFaults says why).
type on struct {
	open     func(t testing.TB, prefix string) store.Store
	block    func(t *testing.T, dir string) func()
	noFaults string
}

// onS3 is a fresh bucket, writes going through a proxy that refuses the
// PUTs under blocked folders.
func onS3(t *testing.T) on {
	srv := stores.S3
	bucket := srv.Bucket(t)
	var mu sync.Mutex
	var blocked []string
	px := s3test.NewProxy(srv.Endpoint)
	t.Cleanup(px.Close)
	px.Rule = func(r *http.Request) s3test.Fault {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range blocked {
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, b) {
				return s3test.SlowDown
			}
		}
		return s3test.Pass
	}
	return on{
		open: func(t testing.TB, prefix string) store.Store {
			return layouttest.S3Store(t.(*testing.T), srv, "s3://"+bucket+"/"+prefix, px.URL)
		},
		block: func(t *testing.T, dir string) func() {
			p := "/" + bucket + "/proj/out/" + dir
			mu.Lock()
			blocked = append(blocked, p)
			mu.Unlock()
			return func() {
				mu.Lock()
				defer mu.Unlock()
				for i, b := range blocked {
					if b == p {
						blocked = append(blocked[:i], blocked[i+1:]...)
						break
					}
				}
			}
		},
	}
}

// onGCS is a fresh bucket of the emulator, which cannot refuse uploads.
func onGCS(t *testing.T) on {
	bucket := stores.GCS.Bucket(t)
	return on{
		open: func(t testing.TB, prefix string) store.Store {
			return layouttest.GCSStore(t.(*testing.T), stores.GCS, bucket, prefix)
		},
		noFaults: "fake-gcs-server cannot refuse one object's uploads",
	}
}

// onAzure is a fresh container, reached through a proxy that refuses the
// uploads under blocked folders.
func onAzure(t *testing.T) on {
	ctr := stores.Azure.Container(t)
	f := stores.Azure.NewFaults(t, ctr, "proj/out")
	return on{
		open: func(t testing.TB, prefix string) store.Store {
			return layouttest.AzureStore(t.(*testing.T), stores.Azure, strings.TrimSuffix(ctr+"/"+prefix, "/"), f.Endpoint)
		},
		block: f.BlockUnder,
	}
}

// treeOf reads every object of a store, through its own handle.
func treeOf(t testing.TB, st store.Store) map[string][]byte {
	t.Helper()
	var keys []string
	var mu sync.Mutex
	if err := st.List(ctx, "", func(k string, _ int64) error { mu.Lock(); keys = append(keys, k); mu.Unlock(); return nil }); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, k := range keys {
		b, found, err := st.Get(ctx, k)
		if err != nil || !found {
			t.Fatalf("Get %s: found %v, %v", k, found, err)
		}
		out[k] = b
	}
	return out
}

// target is the layout suite's Target on proj/out of a store: the tree is
// read once a finisher assembled the split; a blocked sample is refused at
// its staging folder; a lost member is dropped from its shard.
func target(o on) *sinktest.Target {
	sink := func(t testing.TB) *webdataset.Sink {
		return webdataset.New(o.open(t, "proj/out"), webdataset.Options{ShardSize: 4})
	}
	tg := &sinktest.Target{
		Open: func(t *testing.T) core.Sink { return sink(t) },
		Tree: func(t *testing.T) map[string][]byte {
			if err := sink(t).Assemble(ctx, "train"); err != nil { // a finisher
				t.Fatal(err)
			}
			return wdstest.Project(t, treeOf(t, o.open(t, "proj/out")))
		},
		NoFaults: o.noFaults,
		Remove: func(t *testing.T, path string) {
			key, b := wdstest.DropMember(t, treeOf(t, o.open(t, "proj/out")), "train", path)
			if err := o.open(t, "proj/out").Put(ctx, key, b); err != nil {
				t.Fatal(err)
			}
		},
		Outside:  sinktest.OutsideOf(func(t *testing.T) store.Store { return o.open(t, "") }, "proj/out"),
		Reserved: []string{},
	}
	if o.block != nil {
		tg.Block = func(t *testing.T, path string) func() { return o.block(t, wdstest.StagingFolder(t, "train", path)+"/") }
	}
	return tg
}

func TestConformanceS3(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return target(onS3(t)) })
}

func TestConformanceGCS(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return target(onGCS(t)) })
}

func TestConformanceAzure(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return target(onAzure(t)) })
}

// Writers of one prefix (shards, queue workers) that each put part of the
// videos and close at once leave the same bytes as one plain run on a
// folder: the lease and the compare-and-swap hold on each store's
// conditional writes.
func TestConcurrentFinishers(t *testing.T) {
	o := webdataset.Options{ShardSize: 4}
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	root := t.TempDir()
	ref := webdataset.New(localstore.New(root), o)
	wdstest.PutAll(t, ref, imgs, 1)
	if err := ref.Close(); err != nil {
		t.Fatal(err)
	}
	want := wdstest.Published(wdstest.ReadDir(t, root))
	for name, mk := range map[string]func(*testing.T) on{"S3": onS3, "GCS": onGCS, "Azure": onAzure} {
		t.Run(name, func(t *testing.T) {
			for round := 0; round < 2; round++ {
				st := mk(t)
				var wg sync.WaitGroup
				for w := 0; w < 3; w++ {
					var part []*core.Image
					for i, img := range imgs {
						if i%3 == w {
							part = append(part, img)
						}
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						s := webdataset.New(st.open(t, "p"), o)
						wdstest.PutAll(t, s, wdstest.Shuffled(part, int64(round)), 2)
						if err := s.Close(); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
				tree := treeOf(t, st.open(t, "p"))
				wdstest.SameTree(t, wdstest.Published(tree), want)
				for k := range tree {
					if strings.HasPrefix(k, "train/.vpipe/staging/") {
						t.Errorf("staged object left: %s", k)
					}
				}
			}
		})
	}
}
