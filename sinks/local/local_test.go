package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
)

// TestCheckDatasetSettings: recorded output settings bind a dataset that holds
// images, and nothing else; CheckDataset writes nothing. A top-level dataset
// named like a layout folder or a project file is refused.
func TestCheckDatasetSettings(t *testing.T) {
	s := New(t.TempDir())
	ctx := context.Background()
	ds := []string{"ds0", "a.mp4"}
	was := core.DatasetInfo{Dataset: ds, Custom: map[string]any{core.OutputKey: map[string]any{"width": 320}}}
	now := core.DatasetInfo{Dataset: ds, Custom: map[string]any{core.OutputKey: map[string]any{"width": 100}}}
	if err := s.CheckDataset(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "ds0")); !os.IsNotExist(err) {
		t.Fatal("CheckDataset wrote")
	}
	if err := s.Dataset(ctx, was); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckDataset(ctx, now); err != nil {
		t.Fatalf("settings of a dataset without images: %v", err)
	}
	if err := s.Put(ctx, &core.Image{Dataset: ds, Name: "a.png", Data: []byte("png"), Ann: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckDataset(ctx, now); err == nil || !strings.Contains(err.Error(), "its images were made with") {
		t.Fatalf("CheckDataset = %v", err)
	}
	for _, name := range []string{"img", "ann", "meta", "datasets", "custom_data.json", "meta.json"} {
		err := s.CheckDataset(ctx, core.DatasetInfo{Dataset: []string{name, "a.mp4"}})
		if err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Temporaries a killed writer left beside meta.json or a shared dataset's
// custom_data.json are removed by the next Begin or Dataset there (which hold
// the folder's lock, so no live writer's is touched; ConcurrentBegin in the
// conformance suite fails without the lock).
func TestStaleTemporaries(t *testing.T) {
	s := New(filepath.Join(t.TempDir(), "out"))
	ctx := context.Background()
	ds0 := filepath.Join(s.Root, "ds0")
	if err := os.MkdirAll(ds0, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(s.Root, tmpPrefix+"meta"), filepath.Join(ds0, tmpPrefix+"cd")} {
		os.WriteFile(p, []byte("half"), 0o644)
	}
	if _, err := s.Begin(ctx, nil, map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Dataset(ctx, core.DatasetInfo{Dataset: []string{"ds0"}, Custom: map[string]any{"b": 2}}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{s.Root, ds0} {
		e, _ := os.ReadDir(dir)
		for _, f := range e {
			if strings.HasPrefix(f.Name(), tmpPrefix) {
				t.Errorf("%s left in %s", f.Name(), dir)
			}
		}
	}
}
