// Package layouttest makes the sinktest Targets of a layout over every
// store: the local store, the S3 store (versitygw behind a proxy that
// refuses the PUTs of blocked keys), the GCS store (fake-gcs-server) and the
// Azure store (Azurite behind a fault proxy), as sinks/local and the stores'
// own tests make them for the project layout, so the training-format
// layouts pass the same suite on each (Main starts the servers).
package layouttest

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/internal/testenv/svframes"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
	s3store "github.com/vpipe/vpipe/stores/s3"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Open makes the layout's sink over a store.
type Open func(t *testing.T, st store.Store) core.Sink

// Local is a Target on a fresh folder.
func Local(t *testing.T, open Open, lay *sinktest.Layout) *sinktest.Target {
	parent := t.TempDir()
	root := filepath.Join(parent, "out")
	return &sinktest.Target{
		Open: func(t *testing.T) core.Sink {
			s := open(t, localstore.New(root))
			// The suite opens sinks on one root without closing them (runs
			// that died, shards starting at once): they write as shards do.
			s.Features().Admit(core.Writer{Role: "conformance", Shared: true})
			return s
		},
		Tree: func(t *testing.T) map[string][]byte { return ReadTree(t, root) },
		Outside: func(t *testing.T) []string {
			var out []string
			filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
				if err == nil && p != parent && p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
					out = append(out, p)
				}
				return nil
			})
			return out
		},
		Block: func(t *testing.T, path string) func() {
			// An empty folder in the file's place: the rename of a finished
			// temporary onto it fails, as a full disk fails a write.
			p := filepath.Join(root, filepath.FromSlash(path))
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		},
		Remove: func(t *testing.T, path string) {
			if err := os.Remove(filepath.Join(root, filepath.FromSlash(path))); err != nil {
				t.Fatal(err)
			}
		},
		Layout: lay,
	}
}

// ReadTree reads every file under root as a reader would (not the store's
// temporaries and lock files); images/ is read before the rest, since a
// layout promises that an image it lists already has its label.
func ReadTree(t *testing.T, root string) map[string][]byte {
	out := map[string][]byte{}
	for _, top := range []string{"images", ""} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil // removed while walking
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() || strings.HasPrefix(d.Name(), store.TmpPrefix) || strings.HasPrefix(d.Name(), store.LockPrefix) {
				return nil
			}
			if _, seen := out[rel]; seen {
				return nil
			}
			b, err := os.ReadFile(p)
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				return err
			}
			out[rel] = b
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}

// S3 is a Target on a fresh bucket of srv, under the prefix proj/out.
func S3(t *testing.T, srv *s3test.Server, open Open, lay *sinktest.Layout) *sinktest.Target {
	bucket := srv.Bucket(t)
	var mu sync.Mutex
	blocked := map[string]bool{}
	px := s3test.NewProxy(srv.Endpoint)
	t.Cleanup(px.Close)
	px.Rule = func(r *http.Request) s3test.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut && blocked[r.URL.Path] {
			return s3test.SlowDown
		}
		return s3test.Pass
	}
	return &sinktest.Target{
		Open: func(t *testing.T) core.Sink { return open(t, S3Store(t, srv, "s3://"+bucket+"/proj/out", px.URL)) },
		Block: func(t *testing.T, path string) func() {
			k := "/" + bucket + "/proj/out/" + path
			mu.Lock()
			blocked[k] = true
			mu.Unlock()
			return func() {
				mu.Lock()
				delete(blocked, k)
				mu.Unlock()
			}
		},
		Remove: func(t *testing.T, path string) {
			if _, err := srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("proj/out/" + path)}); err != nil {
				t.Fatal(err)
			}
		},
		Tree: func(t *testing.T) map[string][]byte { return srv.Tree(t, bucket, "proj/out") },
		Outside: func(t *testing.T) []string {
			var out []string
			for _, k := range srv.Keys(t, bucket, "") {
				if !strings.HasPrefix(k, "proj/out/") {
					out = append(out, k)
				}
			}
			return out
		},
		Layout: lay,
	}
}

// S3Store is the S3 store of url on srv, reached through endpoint.
func S3Store(t *testing.T, srv *s3test.Server, url, endpoint string) *s3store.Store {
	t.Helper()
	srv.Env(t)
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: url, Endpoint: endpoint, PathStyle: true, MaxBackoff: 20e6})
	if err != nil {
		t.Fatal(err)
	}
	return s3store.New(c)
}

// ImageData is the bytes a test gives a frame's image: they tell its name.
func ImageData(f svframes.Frame) []byte {
	return []byte("image " + strings.Join(f.Dataset, "/") + "/" + f.Name)
}

// Image is a frame as the runner gives it to a sink.
func Image(f svframes.Frame) *core.Image {
	return &core.Image{Dataset: f.Dataset, Name: f.Name, Data: ImageData(f), Ann: f.Ann, Meta: f.Meta}
}

// Write begins s with meta and puts frames, from as many goroutines as
// there are frames (the order of Puts is no part of what a layout writes).
func Write(t *testing.T, s core.Sink, meta *sv.ProjectMeta, frames []svframes.Frame) {
	t.Helper()
	if _, err := s.Begin(context.Background(), meta, nil); err != nil {
		t.Fatalf("Begin: %v", err)
	}
	errs := make(chan error, len(frames))
	var wg sync.WaitGroup
	for _, f := range frames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Put(context.Background(), Image(f))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
}

// ByVideo groups frames by destination dataset (their video), in order.
func ByVideo(frames []svframes.Frame) [][]svframes.Frame {
	var out [][]svframes.Frame
	idx := map[string]int{}
	for _, f := range frames {
		k := strings.Join(f.Dataset, "/")
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], f)
	}
	return out
}

// SameTree compares a tree with the one a plain run wrote, byte for byte.
func SameTree(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if gok != wok || !bytes.Equal(g, w) {
			t.Errorf("%s: %d bytes (present %v), one plain run wrote %d (present %v)", k, len(g), gok, len(w), wok)
		}
	}
}
