package fanout_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sinks/fanout"
	"github.com/vpipe/vpipe/sinks/local"
	"github.com/vpipe/vpipe/sinks/sinktest"
)

func readTree(t *testing.T, root string) map[string][]byte {
	out := map[string][]byte{}
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasPrefix(info.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = b
		}
		return nil
	})
	return out
}

// The fan-out of two local sinks keeps every promise, and both hold the same tree.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		parent := t.TempDir()
		a, b := filepath.Join(parent, "a"), filepath.Join(parent, "b")
		return &sinktest.Target{
			Open: func(*testing.T) core.Sink {
				f := fanout.New(local.New(a), local.New(b))
				f.Features().Admit(core.Writer{Role: "conformance", Shared: true}) // as in sinks/local's suite
				return f
			},
			Tree: func(t *testing.T) map[string][]byte {
				ta, tb := readTree(t, a), readTree(t, b)
				for k, v := range ta {
					// The second sink is written after (or with) the first: a reader
					// sees it at most a frame behind, never a different object.
					if w, ok := tb[k]; ok && !strings.Contains(k, "/img/") && !strings.HasSuffix(k, ".json") && !bytes.Equal(v, w) {
						t.Fatalf("%s differs between the sinks", k)
					}
				}
				return ta
			},
			Outside: func(t *testing.T) []string {
				var out []string
				filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
					if err == nil && p != parent && p != a && p != b && !strings.HasPrefix(p, a+"/") && !strings.HasPrefix(p, b+"/") {
						out = append(out, p)
					}
					return nil
				})
				return out
			},
			// The second sink fails: the first took the frame, and the
			// roll-back must take it back there.
			Block: func(t *testing.T, path string) func() { return block(t, b, path) },
			// Gone from the first sink: the frame counts as missing (not in every sink).
			Remove: func(t *testing.T, path string) {
				if err := os.Remove(filepath.Join(a, filepath.FromSlash(path))); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// block makes root/path unwritable (an empty folder in its place).
func block(t *testing.T, root, path string) (unblock func()) {
	p := filepath.Join(root, filepath.FromSlash(path))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// failing refuses every Put.
type failing struct{ core.Sink }

func (failing) Put(context.Context, *core.Image) error { return errors.New("disk full") }
func (failing) Describe() string                       { return "broken" }

// A frame is written only where missing; a failure names the sink and a
// roll-back removes only what this run wrote.
func TestWritesWhereMissingAndRollsBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := local.New(filepath.Join(dir, "a")), local.New(filepath.Join(dir, "b"))
	ds := []string{"ds0", "v.mp4"}
	old := sinktest.Image(ds, "v.mp4_frame_0.png", 10, 0)
	if err := a.Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	f := fanout.New(a, b)
	have, err := f.Existing(ctx, ds)
	if err != nil || len(have) != 0 {
		t.Fatalf("Existing = %v, %v; want none (b lacks the frame)", have, err)
	}
	changed := sinktest.Image(ds, "v.mp4_frame_0.png", 10, 7) // same name, other bytes: must not reach a
	if err := f.Put(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, filepath.Join(dir, "a"))["ds0/datasets/v.mp4/img/v.mp4_frame_0.png"]; !bytes.Equal(got, old.Data) {
		t.Fatal("a sink that had the frame was written again")
	}
	if got := readTree(t, filepath.Join(dir, "b"))["ds0/datasets/v.mp4/img/v.mp4_frame_0.png"]; !bytes.Equal(got, changed.Data) {
		t.Fatal("the sink that lacked the frame did not get it")
	}
	if err := f.Delete(ctx, ds, []string{"v.mp4_frame_0.png"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := readTree(t, filepath.Join(dir, "a"))["ds0/datasets/v.mp4/img/v.mp4_frame_0.png"]; !ok {
		t.Fatal("roll-back removed an image the sink had before the run")
	}
	if n := len(readTree(t, filepath.Join(dir, "b"))); n != 0 {
		t.Fatalf("roll-back left %d files in the sink this run wrote to", n)
	}

	g := fanout.New(b, failing{a})
	if _, err := g.Existing(ctx, []string{"ds0", "w.mp4"}); err != nil {
		t.Fatal(err)
	}
	err = g.Put(ctx, sinktest.Image([]string{"ds0", "w.mp4"}, "w.mp4_frame_0.png", 10, 0))
	if err == nil || !strings.Contains(err.Error(), "sink 2 (broken)") {
		t.Fatalf("Put = %v, want the failing sink named", err)
	}
	// The runner did not count the frame; the roll-back still removes it from b.
	if err := g.Delete(ctx, []string{"ds0", "w.mp4"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(readTree(t, filepath.Join(dir, "b"))); n != 0 {
		t.Fatalf("a frame one sink took and another refused stayed: %d files", n)
	}
}

// A fan-out of file sinks writes one image at a time (no Batch: the runner
// keeps its write stage), admits writers through its members, and lists them.
func TestFeaturesOfFileSinks(t *testing.T) {
	dir := t.TempDir()
	a, b := local.New(filepath.Join(dir, "a")), local.New(filepath.Join(dir, "b"))
	f := fanout.New(a, b).Features()
	if f.Batch != nil || f.Admit == nil || len(f.Members) != 2 || f.Members[0] != core.Sink(a) || f.Members[1] != core.Sink(b) {
		t.Fatalf("features %+v", f)
	}
	if g := fanout.New(&local.Flat{Dir: dir}).Features(); g.Admit != nil || g.Batch != nil {
		t.Fatalf("a member that admits no writer made the fan-out admit: %+v", g)
	}
}

// splitting is a member that splits videos by the first letter of their
// name, and has left one label out.
type splitting struct {
	core.Sink
	name string
}

func (s splitting) Features() core.SinkFeatures {
	return core.SinkFeatures{
		Plan: func(_ context.Context, items []*core.Item, _ bool) (map[string]string, error) {
			out := map[string]string{}
			for _, it := range items {
				out[it.ID()] = s.name + it.Name[:1]
			}
			return out, nil
		},
		LeftOut: func() []core.LeftOut { return []core.LeftOut{{Sink: s.name, Class: "c", Geometry: "point", Count: 2}} },
	}
}

// A fan-out plans every member that splits videos: a video's split is the
// members' one when they agree, else each one's named by its sink; it lists
// what each member left out.
func TestPlanAndLeftOutOfMembers(t *testing.T) {
	dir := t.TempDir()
	plain := local.New(filepath.Join(dir, "a"))
	items := []*core.Item{{Dataset: []string{"ds0"}, Name: "x.mp4"}}
	f := fanout.New(plain, splitting{name: "s"}, splitting{name: "s"}).Features()
	got, err := f.Plan(context.Background(), items, true)
	if err != nil || got["ds0/x.mp4"] != "sx" {
		t.Fatalf("agreeing members: %v %v", got, err)
	}
	f = fanout.New(plain, splitting{name: "s"}, splitting{name: "t"}).Features()
	if got, _ := f.Plan(context.Background(), items, true); got["ds0/x.mp4"] != "sx (sink 2), tx (sink 3)" {
		t.Fatalf("members that differ: %v", got)
	}
	if lo := f.LeftOut(); len(lo) != 2 || lo[0].Sink != "s" || lo[1].Sink != "t" {
		t.Fatalf("left out: %+v", lo)
	}
	if g := fanout.New(plain).Features(); g.Plan != nil || g.LeftOut != nil {
		t.Fatal("a fan-out of sinks that split nothing offers Plan or LeftOut")
	}
}
