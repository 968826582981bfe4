package storesink

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/layouts/coco"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

// videos are n videos spread over three datasets, one nested.
func videos(n int) []*core.Item {
	var out []*core.Item
	for i := range n {
		ds := [][]string{{"ds0"}, {"ds1"}, {"ds0", "night"}}[i%3]
		out = append(out, &core.Item{Dataset: ds, Name: fmt.Sprintf("v%03d.mp4", i)})
	}
	return out
}

func splitSinkOn(t *testing.T, st store.Store, format string, split map[string]float64) core.Sink {
	t.Helper()
	out := registry.NewOutput()
	out.Format, out.Split = format, split
	sk, err := New(context.Background(), st, out, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// Issue 18: the split of each video is decided from the whole listing and
// kept in the store: a sink that plans the same videos again (a re-run, a
// shard, a worker) gets the same answer, one that plans more videos keeps
// the old ones where they were, and a dry plan writes nothing.
func TestSplitsKept(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "out")
	fr := map[string]float64{"train": 0.8, "val": 0.2}
	dry, err := splitSinkOn(t, localstore.New(root), "coco", fr).Features().Plan(ctx, videos(100), true)
	if err != nil || len(dry) != 100 {
		t.Fatalf("dry plan: %v %d", err, len(dry))
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatal("a dry plan wrote")
	}
	first, err := splitSinkOn(t, localstore.New(root), "coco", fr).Features().Plan(ctx, videos(100), false)
	if err != nil || fmt.Sprint(first) != fmt.Sprint(dry) {
		t.Fatalf("plan %v: differs from the dry one", err)
	}
	count := map[string]int{}
	for _, s := range first {
		count[s]++
	}
	if count["train"] < 79 || count["train"] > 81 || count["train"]+count["val"] != 100 {
		t.Errorf("100 videos split %v, want 80±1 / 20±1", count)
	}
	file, err := os.ReadFile(filepath.Join(root, coco.VideoSplitsKey))
	if err != nil || strings.Count(string(file), "\n") != 102 {
		t.Fatalf("%v: the splits file has %d lines:\n%.300s", err, strings.Count(string(file), "\n"), file)
	}
	more, err := splitSinkOn(t, localstore.New(root), "coco", fr).Features().Plan(ctx, videos(120), false)
	if err != nil {
		t.Fatal(err)
	}
	count = map[string]int{}
	for id, s := range more {
		if old, ok := first[id]; ok && old != s {
			t.Errorf("%s moved from %s to %s when videos were added", id, old, s)
		}
		count[s]++
	}
	if count["train"] < 95 || count["train"] > 97 {
		t.Errorf("120 videos split %v, want 96±1 in train", count)
	}
	_, err = splitSinkOn(t, localstore.New(root), "coco", map[string]float64{"train": 0.5, "test": 0.5}).Features().Plan(ctx, videos(3), false)
	if err == nil || !strings.Contains(err.Error(), `is already in split "val", which the splits asked for (test, train) do not name`) {
		t.Fatalf("renamed splits: %v", err)
	}
}

// Shards and queue workers plan at once, on the local store (a lock) and on
// S3 (compare-and-swap): every one gets the same answer and the file is the
// one a single plan writes.
func TestSplitsConcurrent(t *testing.T) {
	ctx := context.Background()
	fr := map[string]float64{"train": 0.5, "val": 0.3, "test": 0.2}
	one := filepath.Join(t.TempDir(), "one")
	want, err := splitSinkOn(t, localstore.New(one), "yolo", fr).Features().Plan(ctx, videos(40), false)
	if err != nil {
		t.Fatal(err)
	}
	wantFile, _ := os.ReadFile(filepath.Join(one, ".vpipe/splits.json"))
	bucket := srv.Bucket(t)
	srv.Env(t)
	local := filepath.Join(t.TempDir(), "many")
	for _, where := range []string{"local", "s3"} {
		t.Run(where, func(t *testing.T) {
			open := func() store.Store { return localstore.New(local) }
			read := func() []byte { b, _ := os.ReadFile(filepath.Join(local, ".vpipe/splits.json")); return b }
			if where == "s3" {
				open = func() store.Store {
					c, err := s3conn.New(ctx, s3conn.Options{URL: "s3://" + bucket + "/p", Endpoint: srv.Endpoint, PathStyle: true, MaxBackoff: 20e6})
					if err != nil {
						t.Fatal(err)
					}
					return s3store.New(c)
				}
				read = func() []byte { return srv.Tree(t, bucket, "p")[".vpipe/splits.json"] }
			}
			var wg sync.WaitGroup
			got := make([]map[string]string, 6)
			errs := make([]error, 6)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], errs[i] = splitSinkOn(t, open(), "yolo", fr).Features().Plan(ctx, videos(40), false)
				}()
			}
			wg.Wait()
			for i := range got {
				if errs[i] != nil || fmt.Sprint(got[i]) != fmt.Sprint(want) {
					t.Errorf("writer %d: %v, a different answer: %v", i, errs[i], got[i])
				}
			}
			if b := read(); string(b) != string(wantFile) {
				t.Errorf("the splits file:\n%s\nwant:\n%s", b, wantFile)
			}
		})
	}
}

// The Supervisely project with splits puts each video's datasets under a
// top-level dataset named after its split (the datasets above the video's
// too); a video that was not planned is refused, naming it.
func TestProjectUnderSplits(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "out")
	sk := splitSinkOn(t, localstore.New(root), "supervisely", map[string]float64{"a": 0.5, "b": 0.5})
	defer sk.Close()
	items := []*core.Item{{Dataset: []string{"ds0"}, Name: "x.mp4"}, {Dataset: []string{"ds0", "night"}, Name: "y.mp4"}}
	splits, err := sk.Features().Plan(ctx, items, false)
	if err != nil || splits["ds0/x.mp4"] == splits["ds0/night/y.mp4"] {
		t.Fatalf("%v %v: want the two videos in two splits", err, splits)
	}
	if _, err := sk.Begin(ctx, sinktestMeta(t), nil); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := sk.Dataset(ctx, core.DatasetInfo{Dataset: it.Dataset, Custom: map[string]any{"k": 1}, Video: it}); err != nil {
			t.Fatal(err)
		}
		if err := sk.Put(ctx, sinktest.Image(it.DestDataset(), it.Name+"_frame_0.png", 10, 0)); err != nil {
			t.Fatal(err)
		}
		have, err := sk.Existing(ctx, it.DestDataset())
		if err != nil || !have[it.Name+"_frame_0.png"] {
			t.Fatalf("existing %v %v", have, err)
		}
	}
	for _, p := range []string{
		splits["ds0/x.mp4"] + "/datasets/ds0/custom_data.json",
		splits["ds0/x.mp4"] + "/datasets/ds0/datasets/x.mp4/img/x.mp4_frame_0.png",
		splits["ds0/night/y.mp4"] + "/datasets/ds0/datasets/night/custom_data.json",
		splits["ds0/night/y.mp4"] + "/datasets/ds0/datasets/night/datasets/y.mp4/ann/y.mp4_frame_0.png.json",
		project.SplitsFile,
	} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Error(err)
		}
	}
	err = sk.Put(ctx, sinktest.Image([]string{"ds0", "z.mp4"}, "z.mp4_frame_0.png", 10, 0))
	if err == nil || !strings.Contains(err.Error(), "video ds0/z.mp4 has no split") {
		t.Fatalf("an unplanned video: %v", err)
	}
}

// writeVideo writes one frame of it through sk, planning first when sk splits.
func writeVideo(t *testing.T, sk core.Sink, it *core.Item) {
	t.Helper()
	ctx := context.Background()
	if plan := sk.Features().Plan; plan != nil {
		if _, err := plan(ctx, []*core.Item{it}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sk.Begin(ctx, sinktestMeta(t), nil); err != nil {
		t.Fatal(err)
	}
	if err := sk.Dataset(ctx, core.DatasetInfo{Dataset: it.Dataset, Video: it}); err != nil {
		t.Fatal(err)
	}
	if err := sk.Put(ctx, sinktest.Image(it.DestDataset(), it.Name+"_frame_0.png", 10, 0)); err != nil {
		t.Fatal(err)
	}
	if err := sk.Close(); err != nil {
		t.Fatal(err)
	}
}

// Issue 18 review: adding sink.split to an output written without it would
// write its videos again in a second split, and removing it would ignore
// the kept splits; both are refused, naming the key and the output or file.
func TestSplitAddedOrRemovedRefused(t *testing.T) {
	ctx := context.Background()
	it := &core.Item{Dataset: []string{"ds0"}, Name: "x.mp4"}
	halves := map[string]float64{"train": 0.5, "val": 0.5}
	for _, format := range []string{"coco", "supervisely"} {
		t.Run(format+"/added", func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "out")
			writeVideo(t, splitSinkOn(t, localstore.New(root), format, nil), it)
			for _, dry := range []bool{true, false} {
				_, err := splitSinkOn(t, localstore.New(root), format, halves).Features().Plan(ctx, []*core.Item{it}, dry)
				if err == nil || !strings.Contains(err.Error(), "sink.split") || !strings.Contains(err.Error(), root) {
					t.Fatalf("dry %v: split added to a written output: %v", dry, err)
				}
			}
			if _, err := os.Stat(filepath.Join(root, registrySpec(t, format).SplitsKey)); !os.IsNotExist(err) {
				t.Errorf("a refused split wrote its file: %v", err)
			}
		})
		t.Run(format+"/removed", func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "out")
			writeVideo(t, splitSinkOn(t, localstore.New(root), format, halves), it)
			sk := splitSinkOn(t, localstore.New(root), format, nil)
			defer sk.Close()
			_, err := sk.Begin(ctx, sinktestMeta(t), nil)
			file := filepath.Join(root, registrySpec(t, format).SplitsKey)
			if err == nil || !strings.Contains(err.Error(), "sink.split") || !strings.Contains(err.Error(), file) {
				t.Fatalf("split removed from a split output: %v", err)
			}
		})
	}
	// A fresh output, and one split from the start, are fine.
	root := filepath.Join(t.TempDir(), "out")
	writeVideo(t, splitSinkOn(t, localstore.New(root), "coco", halves), it)
	writeVideo(t, splitSinkOn(t, localstore.New(root), "coco", halves), &core.Item{Dataset: []string{"ds1"}, Name: "y.mp4"})
}

func registrySpec(t *testing.T, format string) registry.Spec {
	t.Helper()
	spec, ok := registry.Lookup(registry.Layout, format)
	if !ok {
		t.Fatal(format)
	}
	return spec
}

// Issue 18 review: a split named as a key of YOLO's data.yaml (names, nc,
// path, kpt_shape...) or images would break the dataset; a sink built
// without the config's check refuses it before writing, naming the key.
func TestReservedSplitNameRefused(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	for _, name := range []string{"names", "nc", "path", "kpt_shape", "images"} {
		out := registry.NewOutput()
		out.Format, out.Split = "yolo", map[string]float64{"train": 0.5, name: 0.5}
		_, err := New(context.Background(), localstore.New(root), out, registry.Deps{})
		if err == nil || !strings.Contains(err.Error(), "sink.split") || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("split %q: %v", name, err)
		}
	}
	for _, fine := range []string{"val", "test"} {
		out := registry.NewOutput()
		out.Format, out.Split = "yolo", map[string]float64{"train": 0.5, fine: 0.5}
		if _, err := New(context.Background(), localstore.New(root), out, registry.Deps{}); err != nil {
			t.Errorf("split %q: %v", fine, err)
		}
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Error("a refused sink wrote")
	}
}
