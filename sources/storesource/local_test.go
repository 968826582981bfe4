package storesource

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	localstore "github.com/vpipe/vpipe/stores/local"
)

// folder writes files (slash paths relative to root) holding their contents.
func folder(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range files {
		p := filepath.Join(root, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// The adapter is no S3 source: over the local store (a folder) it reads the
// same plain tree, hidden entries left out, videos read with ranged reads.
func TestPlainTreeOnAnyStore(t *testing.T) {
	root := folder(t, map[string]string{"a.mp4": "xy", "notes.txt": "n", ".hidden.mp4": "h", ".cache/x.mp4": "c",
		"street/b.MKV": "b", "street/night/c.webm": "c"})
	its, p, err := list(New(localstore.New(root)))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(its); got != "ds0/a.mp4 street/b.MKV street/night/c.webm" {
		t.Fatalf("items: %s", got)
	}
	if p.Meta != nil || p.Provenance["is_sample"] != true {
		t.Fatalf("project: %+v", p)
	}
	if its[0].Open != filepath.Join(root, "a.mp4") {
		t.Fatalf("open: %q, want the file's name", its[0].Open)
	}
	in, err := its[0].Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	if got, err := io.ReadAll(in.Options.Input); err != nil || string(got) != "xy" || in.Size != 2 || in.Fetched() != 2 {
		t.Fatalf("read %q, %v (size %d, fetched %d)", got, err, in.Size, in.Fetched())
	}
	empty := t.TempDir()
	if _, _, err := list(New(localstore.New(empty))); err == nil || !strings.Contains(err.Error(), empty+": no videos found") {
		t.Fatalf("empty folder: %v", err)
	}
}

// A Supervisely video project on the local store: named by its folder,
// annotations found by either name, a reserved folder never a dataset.
func TestProjectOnAnyStore(t *testing.T) {
	root := filepath.Join(folder(t, map[string]string{
		"proj/meta.json": `{"classes":[],"tags":[]}`, "proj/ds1/video/v.mp4": "x", "proj/ds1/ann/v.json": `{}`,
		"proj/ds1/video_info/v.mp4.json":      `{"id": 7, "dataset_id": 3, "project_id": 1}`,
		"proj/ds1/datasets/child/video/w.mp4": "x", "proj/ds1/datasets/child/ann/w.mp4.json": `{}`, "proj/video/stray.mp4": "x",
	}), "proj")
	its, p, err := list(New(localstore.New(root)))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(its); got != "ds1/v.mp4 ds1/child/w.mp4" {
		t.Fatalf("items: %s", got)
	}
	if p.Meta == nil || p.Provenance["video_project_name"] != "proj" || its[0].Provenance["video_id"] != int64(7) {
		t.Fatalf("project %+v, item %+v", p.Provenance, its[0].Provenance)
	}
	if its[0].AnnotationPath != filepath.Join(root, "ds1", "ann", "v.json") {
		t.Fatalf("annotation: %s", its[0].AnnotationPath)
	}
}
