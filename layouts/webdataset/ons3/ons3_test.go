// Package ons3 runs the WebDataset layout on the S3 store against a real S3
// server (versitygw, started by the tests): the layout suite, and writers
// that finish together.
package ons3

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/sinks/sinktest"
	localstore "github.com/vpipe/vpipe/stores/local"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

var srv *s3test.Server

func TestMain(m *testing.M) { os.Exit(s3test.Main(m, &srv)) }

var ctx = context.Background()

func open(t testing.TB, url, endpoint string, o webdataset.Options) *webdataset.Sink {
	t.Helper()
	srv.Env(t)
	c, err := s3conn.New(ctx, s3conn.Options{URL: url, Endpoint: endpoint, PathStyle: true, MaxBackoff: 20e6})
	if err != nil {
		t.Fatal(err)
	}
	return webdataset.New(s3store.New(c), o)
}

// The layout suite on a bucket prefix, writes going through a proxy that
// refuses the PUTs of blocked objects.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
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
		url := "s3://" + bucket + "/proj/out"
		openT := func(t testing.TB) *webdataset.Sink { return open(t, url, px.URL, webdataset.Options{ShardSize: 4}) }
		tree := func(t *testing.T) map[string][]byte { return srv.Tree(t, bucket, "proj/out") }
		return &sinktest.Target{
			Open: func(t *testing.T) core.Sink { return openT(t) },
			Tree: func(t *testing.T) map[string][]byte {
				s := openT(t)
				if err := s.Assemble(ctx, "train"); err != nil { // a finisher
					t.Fatal(err)
				}
				return wdstest.Project(t, tree(t))
			},
			Block: func(t *testing.T, path string) func() {
				p := "/" + bucket + "/proj/out/" + wdstest.StagingFolder(t, "train", path) + "/"
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
			Remove: func(t *testing.T, path string) {
				key, b := wdstest.DropMember(t, tree(t), "train", path)
				srv.Put(t, bucket, "proj/out/"+key, b)
			},
			Outside: func(t *testing.T) []string {
				var out []string
				for _, k := range srv.Keys(t, bucket, "") {
					if !strings.HasPrefix(k, "proj/out/") {
						out = append(out, k)
					}
				}
				return out
			},
			Reserved: []string{},
		}
	})
}

// Writers of one prefix (shards, queue workers) that each put part of the
// videos and close at once leave the same bytes as one plain run on a
// folder: the lease and the compare-and-swap hold on S3's conditional PUTs.
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
	for round := 0; round < 2; round++ {
		bucket := srv.Bucket(t)
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
				s := open(t, "s3://"+bucket+"/p", srv.Endpoint, o)
				wdstest.PutAll(t, s, wdstest.Shuffled(part, int64(round)), 2)
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		wdstest.SameTree(t, wdstest.Published(srv.Tree(t, bucket, "p")), want)
		if keys := srv.Keys(t, bucket, "p/train/.vpipe/staging/"); len(keys) > 0 {
			t.Errorf("staged objects left: %q", keys)
		}
	}
}
