package config_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/layouts/yolo"
)

// Issue 18: every store sink takes format (the layout written on the store)
// and split, and its chosen format's own section; from the file, --set,
// VPIPE_* and in a sinks: list alike.
func TestFormatAndSplitKeys(t *testing.T) {
	src := t.TempDir()
	c, err := load(t, "source: {path: "+src+"}\nsink: {path: out}\n", nil)
	if err != nil || c.Sink.Output == nil || c.Sink.Output.Format != "supervisely" || len(c.Sink.Output.Split) != 0 {
		t.Fatalf("defaults: %v %+v", err, c.Sink.Output)
	}
	c, err = load(t, "source: {path: "+src+"}\nsink: {path: out, format: yolo, yolo: {task: pose}, split: {train: 0.8, val: 0.2}}\n", nil)
	if err != nil || c.Sink.Output.Format != "yolo" || c.Sink.Output.Layout.(*yolo.Config).Task != "pose" ||
		c.Sink.Output.Split["train"] != 0.8 || c.Sink.Output.Split["val"] != 0.2 || localOut(c.Sink).Path != "out" {
		t.Fatalf("file: %v %+v", err, c.Sink.Output)
	}
	c, err = load(t, "source: {path: "+src+"}\nsink: {type: s3, url: s3://b/p}\n",
		[]string{"sink.format=yolo", "sink.yolo.task=segment"}, "VPIPE_SINK_SPLIT={train: 0.5, test: 0.5}")
	if err != nil || c.Sink.Output.Format != "yolo" || c.Sink.Output.Layout.(*yolo.Config).Task != "segment" || c.Sink.Output.Split["test"] != 0.5 {
		t.Fatalf("--set and VPIPE_*: %v %+v", err, c.Sink.Output)
	}
	c, err = load(t, "source: {path: "+src+"}\nsinks:\n  - {path: a}\n  - {path: b}\n  - {type: s3, url: s3://b/p}\n",
		[]string{"sinks[1].format=yolo", "sinks[1].yolo.task=pose", "sinks[2].split={train: 1}"}, "VPIPE_SINKS_0_FORMAT=coco")
	if err != nil || c.Sinks[0].Output.Format != "coco" || c.Sinks[1].Output.Layout.(*yolo.Config).Task != "pose" ||
		c.Sinks[2].Output.Split["train"] != 1 || c.Sinks[2].Output.Format != "supervisely" {
		t.Fatalf("sinks: %v %+v %+v %+v", err, c.Sinks[0].Output, c.Sinks[1].Output, c.Sinks[2].Output)
	}
	b, err := config.NewBackend("sink", "local", map[string]any{"path": "x", "format": "yolo", "yolo": map[string]any{"task": "pose"}})
	if err != nil || b.Output.Format != "yolo" || b.Output.Layout.(*yolo.Config).Task != "pose" || localOut(b).Path != "x" {
		t.Fatalf("in code: %v %+v", err, b.Output)
	}
}

// A format's section on a sink of another format is refused as another
// type's key is; so are an unknown format, a bad split, a bad task, and
// format keys on a sink that is no store.
func TestFormatKeysRefused(t *testing.T) {
	src := t.TempDir()
	for _, c := range []struct {
		text string
		sets []string
		env  []string
		want []string
	}{
		{"sink: {path: out, format: coco, yolo: {task: pose}}\n", nil, nil,
			[]string{"sink.yolo: the section of format yolo, but this sink's format is coco: remove it, or set format: yolo"}},
		{"sink: {path: out}\n", []string{"sink.yolo.task=pose"}, nil,
			[]string{"sink.yolo: the section of format yolo, but this sink's format is supervisely", "(from --set)"}},
		{"sinks:\n  - {path: a}\n  - {path: b, format: coco}\n", []string{"sinks[1].yolo.task=pose"}, nil,
			[]string{"sinks[1].yolo: the section of format yolo, but this sink's format is coco"}},
		{"sink: {path: out, format: yolo, yolo: {tsk: pose}}\n", nil, nil, []string{"sink.yolo.tsk: unknown key (did you mean sink.yolo.task?)"}},
		{"sink: {path: out, format: yolo, yolo: {task: track}}\n", nil, nil, []string{`sink.yolo.task: YOLO task "track": want detect, segment or pose`}},
		{"sink: {path: out, format: cocoo}\n", nil, nil, []string{`sink.format: unknown format "cocoo" (available: coco, supervisely, webdataset, yolo) (did you mean coco?)`}},
		{"sink: {path: out, split: {train: 0.8, val: 0.3}}\n", nil, nil, []string{"sink.split: the fractions sum to 1.1"}},
		{"sink: {path: out, split: [train, val]}\n", nil, nil, []string{"sink.split: want a map of names to fractions"}},
		{"sink: {path: out, format: yolo, split: {train: 0.5, names: 0.25, images: 0.25}}\n", nil, nil,
			[]string{`sink.split: split name "images": format yolo reserves it`, `sink.split: split name "names": format yolo reserves it`}},
		{"sink: {path: out}\n", nil, []string{"VPIPE_SINK_SPLIT=train"}, []string{"sink.split: want a map of names to fractions", "from VPIPE_SINK_SPLIT"}},
		{"sink: {type: supervisely, workspace_id: 1, format: coco}\n", nil, nil,
			[]string{"sink.format: a key of sink type azblob or gcs or local or s3 only (this sink's type is supervisely"}},
		{"sink: {type: supervisely, workspace_id: 1, yolo: {task: pose}}\n", nil, nil,
			[]string{"sink.yolo: the section of format yolo: only a store sink writes formats (this sink's type is supervisely)"}},
	} {
		_, err := load(t, "source: {path: "+src+"}\n"+c.text, c.sets, c.env...)
		msg := problems(t, err)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %v %v: missing %q in:\n%s", c.text, c.sets, c.env, w, msg)
			}
		}
	}
	// A format given by --set replaces the file's: its section is dropped.
	c, err := load(t, "source: {path: "+src+"}\nsink: {path: out, format: yolo, yolo: {task: pose}}\n", []string{"sink.format=coco"})
	if err != nil || c.Sink.Output.Format != "coco" {
		t.Fatalf("format replaced by --set: %v", err)
	}
}
