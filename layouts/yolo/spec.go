package yolo

import (
	"github.com/vpipe/vpipe/core"
	yolofmt "github.com/vpipe/vpipe/formats/yolo"
	"github.com/vpipe/vpipe/layouts/internal/splittree"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the layout's section (sink.yolo).
type Config struct {
	Task string `mapstructure:"task" doc:"detect (boxes), segment (outlines) or pose (keypoints, from graphs): what each label line holds; labels the task cannot express are left out and counted"`
}

// VideoSplitsKey keeps the split of each video (sink.split).
const VideoSplitsKey = splittree.Hidden + "splits.json"

func init() {
	registry.Register(registry.Spec{
		Kind: registry.Layout,
		Name: "yolo",
		Summary: "Ultralytics YOLO: images/<split>/<dataset path>/<video>/<image>, labels/<split>/…/<image stem>.txt " +
			"(an empty file for a frame without labels) and data.yaml.",
		Config: func(registry.Kind) any { return &Config{Task: string(yolofmt.Detect)} },
		Check: func(conf any, _ registry.CheckEnv) []registry.Problem {
			if _, err := yolofmt.ParseTask(conf.(*Config).Task); err != nil {
				return []registry.Problem{{Key: "task", Msg: err.Error()}}
			}
			return nil
		},
		SplitsKey: VideoSplitsKey,
		Written:   splittree.Written,
		// data.yaml's keys that are no split would be taken for one, or
		// break the file; a split "images" breaks Ultralytics' rule that
		// finds a label file (the last /images/ of the path becomes /labels/).
		ReservedSplits: []string{"channels", "download", "flip_idx", "images", "kpt_shape", "names", "nc", "path"},
		NewLayout: func(st store.Store, conf any, o registry.LayoutOptions) (core.Sink, error) {
			return New(st, Options{Split: o.Split, Task: yolofmt.Task(conf.(*Config).Task), OnSkip: o.OnSkip})
		},
	})
}
