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
