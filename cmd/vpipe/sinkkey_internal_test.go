package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
)

// A sink of a sinks: list is built knowing its section, so a layout's
// refusal names the key to change: sinks[1].path, not sink.path.
func TestSinkMessagesNameTheirSection(t *testing.T) {
	dir := t.TempDir()
	videos, a, b := filepath.Join(dir, "videos"), filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.Mkdir(videos, 0o755)
	p := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(p, []byte("source: {path: "+videos+"}\nsinks:\n  - {path: "+a+"}\n  - {path: "+b+"}\n"), 0o644)
	c, err := config.Load(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ds := []string{"ds0", "v.mp4"}
	was := core.DatasetInfo{Dataset: ds, Custom: map[string]any{core.OutputKey: map[string]any{"width": 320}}}
	now := core.DatasetInfo{Dataset: ds, Custom: map[string]any{core.OutputKey: map[string]any{"width": 100}}}
	// b already holds the dataset, made with other settings.
	old, err := newSink(ctx, c, "sinks[1]", c.Sinks[1], registry.Deps{Section: c.Section, Shared: shared()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Dataset(ctx, was); err != nil {
		t.Fatal(err)
	}
	if err := old.Put(ctx, &core.Image{Dataset: ds, Name: "a.png", Data: []byte("png"), Ann: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	old.Close()

	_, sink, err := backends(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	err = sink.CheckDataset(ctx, now)
	if err == nil || !strings.Contains(err.Error(), "write to another sinks[1].path") {
		t.Fatalf("CheckDataset = %v; want it to name sinks[1].path", err)
	}
}
