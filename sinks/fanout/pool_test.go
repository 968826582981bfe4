package fanout

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sinks/local"
	"github.com/vpipe/vpipe/sinks/sinktest"
)

// batching is a member that takes images in batches (as the platform does),
// writing each into a local sink and giving it an id.
type batching struct {
	core.Sink
	next atomic.Int64
}

func (b *batching) Features() core.SinkFeatures {
	return core.SinkFeatures{Batch: &core.BatchOps{
		Upload: func(ctx context.Context, bt *core.Batch) ([]core.Registered, error) {
			var out []core.Registered
			for _, img := range bt.Images {
				if err := b.Put(ctx, img); err != nil {
					return nil, err
				}
				out = append(out, core.Registered{Image: img, ID: b.next.Add(1)})
			}
			return out, nil
		},
		Annotate: func(_ context.Context, _ []string, imgs []core.Registered, _ bool) (int, error) {
			return len(imgs), nil
		},
		Reannotate: func(context.Context, []string) (map[string]int64, bool, error) {
			return map[string]int64{"old.png": 99}, false, nil
		},
	}}
}

// slow is a member that takes images one at a time, each Put taking a
// while, and counts how many run at once.
type slow struct {
	core.Sink
	now, most atomic.Int32
}

func (s *slow) Put(ctx context.Context, img *core.Image) error {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	return s.Sink.Put(ctx, img)
}

func batchOf(ds []string, n int) *core.Batch {
	b := &core.Batch{Dataset: ds}
	for i := range n {
		b.Images = append(b.Images, sinktest.Image(ds, fmt.Sprintf("v.mp4_frame_%d.png", i), 8, i))
	}
	return b
}

// Inside a batch's upload, a member that takes images one at a time gets
// them Workers at a time (stages.write.workers), not one after another.
func TestUploadPutsInParallel(t *testing.T) {
	dir := t.TempDir()
	ds := []string{"ds0", "v.mp4"}
	files := &slow{Sink: local.New(filepath.Join(dir, "files"))}
	f := NewWith(Options{Workers: 3}, &batching{Sink: local.New(filepath.Join(dir, "platform"))}, files)
	if _, err := f.Existing(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	regs, err := f.Features().Batch.Upload(context.Background(), batchOf(ds, 9))
	if err != nil || len(regs) != 9 {
		t.Fatalf("Upload = %d, %v", len(regs), err)
	}
	if m := files.most.Load(); m != 3 {
		t.Fatalf("%d Puts at once into the file member, want 3 (Workers)", m)
	}
	if have, _ := files.Existing(context.Background(), ds); len(have) != 9 {
		t.Fatalf("the file member holds %d images, want 9", len(have))
	}
}

// When the run sends no annotations (sampling.copy_annotations false), the
// fan-out keeps no ids for Annotate: its state does not grow with the run.
// When it does, what Annotate sent is let go.
func TestIdsNotKeptWithoutAnnotate(t *testing.T) {
	for _, noAnnotate := range []bool{true, false} {
		dir := t.TempDir()
		f := NewWith(Options{NoAnnotate: noAnnotate}, &batching{Sink: local.New(filepath.Join(dir, "p"))}, local.New(filepath.Join(dir, "f")))
		ctx := context.Background()
		for v := range 5 {
			ds := []string{"ds0", fmt.Sprintf("v%d.mp4", v)}
			if _, err := f.Existing(ctx, ds); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.Features().Batch.Reannotate(ctx, ds); err != nil {
				t.Fatal(err)
			}
			regs, err := f.Features().Batch.Upload(ctx, batchOf(ds, 4))
			if err != nil || len(regs) != 4 || regs[0].ID == 0 {
				t.Fatalf("Upload = %+v, %v", regs, err)
			}
			if !noAnnotate {
				if _, err := f.Features().Batch.Annotate(ctx, ds, regs, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		kept := 0
		for _, st := range f.state {
			for _, ids := range st.ids {
				kept += len(ids)
			}
		}
		// annotating, each dataset keeps only the name its Reannotate listed
		// and no image of this run asked for
		if want := map[bool]int{true: 0, false: 5}[noAnnotate]; kept != want {
			t.Errorf("noAnnotate=%v: %d ids kept after the run, want %d", noAnnotate, kept, want)
		}
	}
}

// A zero fan-out is usable (no members): no nil map.
func TestZeroSink(t *testing.T) {
	var s Sink
	if err := s.Put(context.Background(), sinktest.Image([]string{"ds0"}, "a.png", 8, 0)); err != nil {
		t.Error(err)
	}
}
