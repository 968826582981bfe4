package coco_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/layouttest"
	"github.com/vpipe/vpipe/layouts/coco"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
)

// stores are the test servers of the S3, GCS and Azure stores.
var stores layouttest.Servers

func TestMain(m *testing.M) { os.Exit(layouttest.Main(m, &stores)) }

// split sends the suite's failing videos to "val", the rest to "train", so
// the suite runs across two splits.
func split(dataset []string, video string) string {
	if strings.HasPrefix(video, "full-") || video == "bad.mp4" {
		return "val"
	}
	return "train"
}

func open(t *testing.T, st store.Store) core.Sink { return coco.New(st, coco.Options{Split: split}) }

// layout is where the COCO layout keeps what the suite looks at.
func layout() *sinktest.Layout {
	path := func(ds []string) string { return split(ds[:len(ds)-1], ds[len(ds)-1]) + "/" + strings.Join(ds, "/") }
	return &sinktest.Layout{
		Objects: func(ds []string, name string) []string {
			return []string{"images/" + path(ds) + "/" + name, ".vpipe/journal/" + path(ds) + "/" + name + ".json"}
		},
		Dirs: func(ds []string) []string {
			return []string{"images/" + path(ds) + "/", ".vpipe/journal/" + path(ds) + "/", ".vpipe/datasets/" + strings.Join(ds, "/datasets/") + "/"}
		},
		Meta:        ".vpipe/meta.json",
		ProjectData: ".vpipe/custom_data.json",
		DatasetData: func(ds []string) string {
			return ".vpipe/datasets/" + strings.Join(ds, "/datasets/") + "/custom_data.json"
		},
		Reserved: nil,
		Check:    checkImage,
	}
}

// checkImage: the image's bytes, and its journal entry: the image record
// (file name, size from the annotation, video, dataset, frame index from the
// meta) and no objects (the suite's images have no labels).
func checkImage(t *testing.T, tree map[string][]byte, img *core.Image) {
	t.Helper()
	objs := layout().Objects(img.Dataset, img.Name)
	if got, ok := tree[objs[0]]; !ok || !bytes.Equal(got, img.Data) {
		t.Errorf("%s: %d bytes (present %v), want %d", objs[0], len(got), ok, len(img.Data))
	}
	var e struct {
		Image       map[string]any `json:"image"`
		Annotations []any          `json:"annotations"`
	}
	if err := json.Unmarshal(tree[objs[1]], &e); err != nil {
		t.Errorf("%s: %v", objs[1], err)
		return
	}
	n := len(img.Dataset)
	want := map[string]any{"file_name": strings.Join(img.Dataset, "/") + "/" + img.Name, "width": 3, "height": 2,
		"video": img.Dataset[n-1], "dataset": strings.Join(img.Dataset[:n-1], "/"), "frame_index": img.Meta["frame_index"]}
	if !sinktest.JSONEqual(e.Image, want) || len(e.Annotations) != 0 {
		t.Errorf("%s: %s, want image %v and no annotations", objs[1], tree[objs[1]], want)
	}
}

func TestConformanceLocal(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return layouttest.Local(t, open, layout()) })
}

func TestConformanceS3(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return layouttest.S3(t, stores.S3, open, layout()) })
}

func TestConformanceGCS(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return layouttest.GCS(t, stores.GCS, open, layout()) })
}

func TestConformanceAzure(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target { return layouttest.Azure(t, stores.Azure, open, layout()) })
}
