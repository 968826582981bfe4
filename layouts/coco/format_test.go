package coco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/layouttest"
	"github.com/vpipe/vpipe/internal/testenv/pyenv"
	"github.com/vpipe/vpipe/internal/testenv/svframes"
	"github.com/vpipe/vpipe/layouts/coco"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// videoSplit puts the night dataset's video in "val", the rest in "train".
func videoSplit(dataset []string, video string) string {
	if len(dataset) > 1 && dataset[1] == "night" {
		return "val"
	}
	return "train"
}

func newSink(st store.Store, skipped func(class, geometry, why string)) *coco.Sink {
	s := coco.New(st, coco.Options{Split: videoSplit, OnSkip: skipped})
	s.SetWriter(core.Writer{Role: "test", Shared: true})
	return s
}

// plainRun writes every frame of the bundled project with one sink into a
// new folder and returns its tree.
func plainRun(t *testing.T) (root string, tree map[string][]byte) {
	root = filepath.Join(t.TempDir(), "coco")
	s := newSink(localstore.New(root), nil)
	layouttest.Write(t, s, svframes.Meta(t), svframes.Frames(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return root, layouttest.ReadTree(t, root)
}

// TestPythonReadsCOCO: Python's json, numpy and OpenCV read the dataset and
// hold every annotation against the Supervisely project written from the
// same frames (every geometry type; RLE decoded and compared with the
// bitmap's mask and with the SDK's fillPoly of a polygon with a hole).
func TestPythonReadsCOCO(t *testing.T) {
	pyenv.Python(t) // skips before writing anything when there is none
	root := filepath.Join(t.TempDir(), "coco")
	var mu sync.Mutex
	told := map[string]int{}
	s := newSink(localstore.New(root), func(class, geometry, _ string) {
		mu.Lock()
		told[class+"/"+geometry]++
		mu.Unlock()
	})
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	layouttest.Write(t, s, meta, frames)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	svRoot := filepath.Join(t.TempDir(), "sv")
	sv := project.New(localstore.New(svRoot))
	layouttest.Write(t, sv, meta, frames)
	sv.Close()

	out := pyenv.Run(t, "testdata/check_coco.py", root, svRoot)
	var sum struct {
		Images      map[string]int
		Annotations int
		Skipped     map[string]int
		Shapes      map[string]int
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("python read: %s", out)
	if sum.Images["train"]+sum.Images["val"] != len(frames) || sum.Images["val"] != 4 {
		t.Errorf("images per split %v, want %d in all, 4 in val", sum.Images, len(frames))
	}
	for _, shape := range []string{"rectangle", "polygon", "bitmap", "graph"} {
		if sum.Shapes[shape] == 0 {
			t.Errorf("no %s annotation was checked: %v", shape, sum.Shapes)
		}
	}
	skipped := map[string]int{}
	for k, n := range s.Skipped() {
		skipped[k.Class+"/"+k.Geometry] = n
	}
	if fmt.Sprint(skipped) != fmt.Sprint(sum.Skipped) || len(skipped) != 3 {
		t.Errorf("the sink counts %v left out, Python %v", skipped, sum.Skipped)
	}
	for k, n := range told {
		if n != 1 {
			t.Errorf("OnSkip told %d times of %s, want once", n, k)
		}
	}
	if len(told) != len(skipped) {
		t.Errorf("OnSkip told of %v, left out %v", told, skipped)
	}
}

// TestShardsEndAsOnePlainRun: three writers (shards, workers) that share the
// videos and close at once end with the bytes of one plain run, on the local
// store and on S3.
func TestShardsEndAsOnePlainRun(t *testing.T) {
	_, want := plainRun(t)
	videos := layouttest.ByVideo(svframes.Frames(t))
	for _, where := range []string{"local", "s3"} {
		t.Run(where, func(t *testing.T) {
			var open func() store.Store
			var tree func() map[string][]byte
			if where == "local" {
				root := filepath.Join(t.TempDir(), "coco")
				open = func() store.Store { return localstore.New(root) }
				tree = func() map[string][]byte { return layouttest.ReadTree(t, root) }
			} else {
				bucket := stores.S3.Bucket(t)
				open = func() store.Store { return layouttest.S3Store(t, stores.S3, "s3://"+bucket+"/out", stores.S3.Endpoint) }
				tree = func() map[string][]byte { return stores.S3.Tree(t, bucket, "out") }
			}
			var wg sync.WaitGroup
			sinks := make([]*coco.Sink, len(videos))
			for i, v := range videos {
				sinks[i] = newSink(open(), nil)
				wg.Add(1)
				go func() {
					defer wg.Done()
					layouttest.Write(t, sinks[i], svframes.Meta(t), v)
				}()
			}
			wg.Wait()
			closeAll(t, sinks)
			layouttest.SameTree(t, tree(), want)
		})
	}
}

func closeAll(t *testing.T, sinks []*coco.Sink) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(sinks))
	for i, s := range sinks {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Close() }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestResumeEndsAsOnePlainRun: a run killed halfway (no Close, so no
// instances file) and a re-run that writes only what Existing lacks end with
// the bytes of one plain run; a run that then finds everything there writes
// nothing new.
func TestResumeEndsAsOnePlainRun(t *testing.T) {
	_, want := plainRun(t)
	root := filepath.Join(t.TempDir(), "coco")
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	killed := newSink(localstore.New(root), nil)
	layouttest.Write(t, killed, meta, frames[:len(frames)/2])
	if _, ok := layouttest.ReadTree(t, root)["annotations/instances_train.json"]; ok {
		t.Fatal("an instances file before any Close")
	}
	for run := 0; run < 2; run++ {
		s := newSink(localstore.New(root), nil)
		if _, err := s.Begin(context.Background(), meta, nil); err != nil {
			t.Fatal(err)
		}
		put := 0
		for _, v := range layouttest.ByVideo(frames) {
			have, err := s.Existing(context.Background(), v[0].Dataset)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range v {
				if !have[f.Name] {
					put++
					if err := s.Put(context.Background(), layouttest.Image(f)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if want := []int{len(frames) - len(frames)/2, 0}[run]; put != want {
			t.Errorf("run %d wrote %d images, want %d", run+1, put, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		layouttest.SameTree(t, layouttest.ReadTree(t, root), want)
	}
	killed.Close()
}

// TestRollBack: a video rolled back (Delete) is in no instances file, as if
// it had never been written; its split stays listed with what is left.
func TestRollBack(t *testing.T) {
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	videos := layouttest.ByVideo(frames)
	root := filepath.Join(t.TempDir(), "coco")
	s := newSink(localstore.New(root), nil)
	layouttest.Write(t, s, meta, frames)
	failed := videos[1]
	var names []string
	for _, f := range failed {
		names = append(names, f.Name)
	}
	if err := s.Delete(context.Background(), failed[0].Dataset, names); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var kept []svframes.Frame
	for _, v := range videos {
		if v[0].Name != failed[0].Name {
			kept = append(kept, v...)
		}
	}
	other := filepath.Join(t.TempDir(), "coco")
	s2 := newSink(localstore.New(other), nil)
	layouttest.Write(t, s2, meta, kept)
	s2.Close()
	layouttest.SameTree(t, layouttest.ReadTree(t, root), layouttest.ReadTree(t, other))
}

// TestStaleWriterRetries (S3): writer A lists the journal and builds its
// file; before its conditional PUT, writer B puts another video and closes.
// A's PUT is refused (the file changed since A read it), so A reads and
// lists again, and finds the file already whole: it ends with both videos,
// the bytes of one plain run. Without the compare-and-swap A would have
// written its stale listing (one video) over B's file.
func TestStaleWriterRetries(t *testing.T) {
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	videos := layouttest.ByVideo(frames)
	train := append(append([]svframes.Frame{}, videos[0]...), videos[1]...) // clip.mp4, clip_half.mp4
	plain := filepath.Join(t.TempDir(), "coco")
	p := newSink(localstore.New(plain), nil)
	layouttest.Write(t, p, meta, train)
	p.Close()
	want := layouttest.ReadTree(t, plain)["annotations/instances_train.json"]

	bucket := stores.S3.Bucket(t)
	stA := layouttest.S3Store(t, stores.S3, "s3://"+bucket+"/out", stores.S3.Endpoint)
	a, b := newSink(stA, nil), newSink(layouttest.S3Store(t, stores.S3, "s3://"+bucket+"/out", stores.S3.Endpoint), nil)
	layouttest.Write(t, a, meta, videos[0])
	layouttest.Write(t, b, meta, nil)
	rounds := 0
	stA.BeforeUpdatePut = func() {
		if rounds++; rounds > 1 {
			return
		}
		for _, f := range videos[1] {
			if err := b.Put(context.Background(), layouttest.Image(f)); err != nil {
				t.Error(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := stores.S3.Tree(t, bucket, "out")["annotations/instances_train.json"]
	if rounds == 0 {
		t.Fatal("A's close never came to its conditional PUT")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("instances_train.json: %d bytes, one plain run writes %d", len(got), len(want))
	}
}
