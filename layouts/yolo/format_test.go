package yolo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	yolofmt "github.com/vpipe/vpipe/formats/yolo"
	"github.com/vpipe/vpipe/internal/testenv/layouttest"
	"github.com/vpipe/vpipe/internal/testenv/pyenv"
	"github.com/vpipe/vpipe/internal/testenv/svframes"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/layouts/yolo"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
	sv "github.com/vpipe/vpipe/supervisely"
)

// videoSplit puts the night dataset's video in "val", the rest in "train".
func videoSplit(dataset []string, video string) string {
	if len(dataset) > 1 && dataset[1] == "night" {
		return "val"
	}
	return "train"
}

func newSink(t *testing.T, st store.Store, task yolofmt.Task, skipped func(class, geometry, why string)) *yolo.Sink {
	s, err := yolo.New(st, yolo.Options{Split: videoSplit, Task: task, OnSkip: skipped})
	if err != nil {
		t.Fatal(err)
	}
	s.SetWriter(core.Writer{Role: "test", Shared: true})
	return s
}

// TestPythonReadsYOLO: for each task, Python reads data.yaml with PyYAML,
// finds each image's label file by Ultralytics' rule and holds every line
// against the Supervisely project written from the same frames.
func TestPythonReadsYOLO(t *testing.T) {
	pyenv.Python(t) // skips before writing anything when there is none
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	svRoot := filepath.Join(t.TempDir(), "sv")
	proj := project.New(localstore.New(svRoot))
	layouttest.Write(t, proj, meta, frames)
	proj.Close()
	for _, task := range []yolofmt.Task{yolofmt.Detect, yolofmt.Segment, yolofmt.Pose} {
		t.Run(string(task), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "yolo")
			var mu sync.Mutex
			told := map[string]int{}
			s := newSink(t, localstore.New(root), task, func(class, geometry, _ string) {
				mu.Lock()
				told[class+"/"+geometry]++
				mu.Unlock()
			})
			layouttest.Write(t, s, meta, frames)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			out := pyenv.Run(t, "testdata/check_yolo.py", root, svRoot, string(task))
			t.Logf("python read: %s", out)
			var sum struct {
				Images  map[string]int
				Lines   int
				Skipped map[string]int
			}
			if err := json.Unmarshal(out, &sum); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if sum.Images["train"]+sum.Images["val"] != len(frames) || sum.Images["val"] != 4 || sum.Lines == 0 {
				t.Errorf("images per split %v, %d lines; want %d images, 4 in val", sum.Images, sum.Lines, len(frames))
			}
			skipped := map[string]int{}
			for k, n := range s.Skipped() {
				skipped[k.Class+"/"+k.Geometry] = n
			}
			if fmt.Sprint(skipped) != fmt.Sprint(sum.Skipped) {
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
		})
	}
}

// plainRun writes every frame with one sink into a new folder.
func plainRun(t *testing.T, task yolofmt.Task) map[string][]byte {
	root := filepath.Join(t.TempDir(), "yolo")
	s := newSink(t, localstore.New(root), task, nil)
	layouttest.Write(t, s, svframes.Meta(t), svframes.Frames(t))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return layouttest.ReadTree(t, root)
}

// TestShardsEndAsOnePlainRun: writers that share the videos (shards,
// workers), on the local store and on S3, end with the bytes of one plain
// run, data.yaml included.
func TestShardsEndAsOnePlainRun(t *testing.T) {
	want := plainRun(t, yolofmt.Pose)
	videos := layouttest.ByVideo(svframes.Frames(t))
	for _, where := range []string{"local", "s3"} {
		t.Run(where, func(t *testing.T) {
			var open func() store.Store
			var tree func() map[string][]byte
			if where == "local" {
				root := filepath.Join(t.TempDir(), "yolo")
				open = func() store.Store { return localstore.New(root) }
				tree = func() map[string][]byte { return layouttest.ReadTree(t, root) }
			} else {
				bucket := stores.S3.Bucket(t)
				open = func() store.Store { return layouttest.S3Store(t, stores.S3, "s3://"+bucket+"/out", stores.S3.Endpoint) }
				tree = func() map[string][]byte { return stores.S3.Tree(t, bucket, "out") }
			}
			var wg sync.WaitGroup
			sinks := make([]*yolo.Sink, len(videos))
			for i, v := range videos {
				sinks[i] = newSink(t, open(), yolofmt.Pose, nil)
				wg.Add(1)
				go func() {
					defer wg.Done()
					layouttest.Write(t, sinks[i], svframes.Meta(t), v)
				}()
			}
			wg.Wait()
			for _, s := range sinks {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			layouttest.SameTree(t, tree(), want)
		})
	}
}

// TestResumeEndsAsOnePlainRun: a run killed halfway and a re-run that writes
// only what Existing lacks end with the bytes of one plain run.
func TestResumeEndsAsOnePlainRun(t *testing.T) {
	want := plainRun(t, yolofmt.Detect)
	root := filepath.Join(t.TempDir(), "yolo")
	frames, meta := svframes.Frames(t), svframes.Meta(t)
	killed := newSink(t, localstore.New(root), yolofmt.Detect, nil)
	layouttest.Write(t, killed, meta, frames[:len(frames)/2])
	s := newSink(t, localstore.New(root), yolofmt.Detect, nil)
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
	if put != len(frames)-len(frames)/2 {
		t.Errorf("the re-run wrote %d images, want %d", put, len(frames)-len(frames)/2)
	}
	s.Close()
	killed.Close()
	layouttest.SameTree(t, layouttest.ReadTree(t, root), want)
}

// TestOtherTaskRefused: labels of one task are never mixed with another's:
// a run asking another task of the same output is refused before it writes.
func TestOtherTaskRefused(t *testing.T) {
	root := filepath.Join(t.TempDir(), "yolo")
	meta := svframes.Meta(t)
	s := newSink(t, localstore.New(root), yolofmt.Detect, nil)
	layouttest.Write(t, s, meta, svframes.Frames(t)[:1])
	s.Close()
	before := layouttest.ReadTree(t, root)
	other := newSink(t, localstore.New(root), yolofmt.Segment, nil)
	if err := other.Check(context.Background(), meta); err == nil || !strings.Contains(err.Error(), "task detect") {
		t.Fatalf("Check of a segment run on detect labels: %v", err)
	}
	if _, err := other.Begin(context.Background(), meta, nil); err == nil {
		t.Fatal("Begin of a segment run on detect labels succeeded")
	}
	other.Close()
	layouttest.SameTree(t, layouttest.ReadTree(t, root), before)
}

// TestNewClassesGoLast: a later run whose source meta brings a new class
// (first in its order, as the SDK's merge would place it) leaves every old
// class id where it was and gives the new class the next id.
func TestNewClassesGoLast(t *testing.T) {
	root := filepath.Join(t.TempDir(), "yolo")
	meta := svframes.Meta(t)
	s := newSink(t, localstore.New(root), yolofmt.Detect, nil)
	layouttest.Write(t, s, meta, svframes.Frames(t)[:2])
	s.Close()
	more := svframes.Meta(t)
	more.Classes = append([]sv.ObjClass{{Title: "bike", Shape: "rectangle", Color: "#123456"}}, more.Classes...)
	s2 := newSink(t, localstore.New(root), yolofmt.Detect, nil)
	out, err := s2.Begin(context.Background(), more, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	var titles []string
	for _, c := range out.Classes {
		titles = append(titles, c.Title)
	}
	if want := "[car road lane wheel puddle person sign bike]"; fmt.Sprint(titles) != want {
		t.Fatalf("classes after the second run %v, want %s", titles, want)
	}
	y := string(layouttest.ReadTree(t, root)["data.yaml"])
	if !strings.Contains(y, "  0: car\n") || !strings.Contains(y, "  7: bike\n") {
		t.Fatalf("data.yaml:\n%s", y)
	}
}

// TestKptShapeChangeRefused: pose lines have kpt_shape[0] keypoints, the
// most nodes of any graph class; a later run whose meta brings a graph class
// with more nodes would change data.yaml's kpt_shape while the label files
// already written keep fewer columns, so it is refused, naming both shapes,
// before it writes anything.
func TestKptShapeChangeRefused(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "yolo")
	meta := svframes.Meta(t)
	s := newSink(t, localstore.New(root), yolofmt.Pose, nil)
	layouttest.Write(t, s, meta, svframes.Frames(t)[:1])
	s.Close()
	conv, err := yolofmt.NewConverter(meta, yolofmt.Pose)
	if err != nil {
		t.Fatal(err)
	}
	have := conv.KptShape()
	if !strings.Contains(string(layouttest.ReadTree(t, root)[".vpipe/yolo.json"]), fmt.Sprintf(`"kpt_shape":[%d,3]`, have[0])) {
		t.Fatalf(".vpipe/yolo.json does not keep kpt_shape %v", have)
	}
	before := layouttest.ReadTree(t, root)
	nodes := map[string]any{}
	for i := range have[0] + 2 {
		nodes[fmt.Sprintf("n%d", i)] = map[string]any{"label": fmt.Sprintf("k%d", i), "loc": []int{i, i}}
	}
	gc, _ := json.Marshal(map[string]any{"nodes": nodes, "edges": []any{}})
	more := svframes.Meta(t)
	more.Classes = append(more.Classes, sv.ObjClass{Title: "hand", Shape: "graph", Color: "#123456", GeometryConfig: gc})
	other := newSink(t, localstore.New(root), yolofmt.Pose, nil)
	want := fmt.Sprintf("kpt_shape [%d, 3]", have[0])
	if err := other.Check(ctx, more); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("[%d, 3]", have[0]+2)) {
		t.Fatalf("Check of a run with a bigger graph class: %v", err)
	}
	if _, err := other.Begin(ctx, more, nil); err == nil {
		t.Fatal("Begin of a run with a bigger graph class succeeded")
	}
	other.Close()
	layouttest.SameTree(t, layouttest.ReadTree(t, root), before)
	again := newSink(t, localstore.New(root), yolofmt.Pose, nil)
	if _, err := again.Begin(ctx, meta, nil); err != nil {
		t.Fatalf("the same classes again: %v", err)
	}
	again.Close()
}
