package yolo_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/layouttest"
	"github.com/vpipe/vpipe/layouts/yolo"
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

func open(t *testing.T, st store.Store) core.Sink {
	s, err := yolo.New(st, yolo.Options{Split: split})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func stem(name string) string { return name[:strings.LastIndex(name, ".")] }

// layout is where the YOLO layout keeps what the suite looks at.
func layout() *sinktest.Layout {
	path := func(ds []string) string { return split(ds[:len(ds)-1], ds[len(ds)-1]) + "/" + strings.Join(ds, "/") }
	return &sinktest.Layout{
		Objects: func(ds []string, name string) []string {
			return []string{"images/" + path(ds) + "/" + name, "labels/" + path(ds) + "/" + stem(name) + ".txt"}
		},
		Dirs: func(ds []string) []string {
			return []string{"images/" + path(ds) + "/", "labels/" + path(ds) + "/", ".vpipe/datasets/" + strings.Join(ds, "/datasets/") + "/"}
		},
		Meta:        ".vpipe/meta.json",
		ProjectData: ".vpipe/custom_data.json",
		DatasetData: func(ds []string) string {
			return ".vpipe/datasets/" + strings.Join(ds, "/datasets/") + "/custom_data.json"
		},
		Reserved: []string{"images"},
		Check: func(t *testing.T, tree map[string][]byte, img *core.Image) {
			t.Helper()
			objs := layout().Objects(img.Dataset, img.Name)
			if got, ok := tree[objs[0]]; !ok || !bytes.Equal(got, img.Data) {
				t.Errorf("%s: %d bytes (present %v), want %d", objs[0], len(got), ok, len(img.Data))
			}
			// The suite's images have no labels: an empty file, a negative example.
			if got, ok := tree[objs[1]]; !ok || len(got) != 0 {
				t.Errorf("%s: %q (present %v), want an empty file", objs[1], got, ok)
			}
		},
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
