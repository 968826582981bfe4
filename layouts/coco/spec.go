package coco

import (
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/internal/splittree"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the layout's section: it has no keys of its own.
type Config struct{}

// VideoSplitsKey keeps the split of each video (sink.split).
const VideoSplitsKey = splittree.Hidden + "splits.json"

func init() {
	registry.Register(registry.Spec{
		Kind: registry.Layout,
		Name: "coco",
		Summary: "COCO: images/<split>/<dataset path>/<video>/<image> and annotations/instances_<split>.json (boxes, " +
			"polygons, RLE masks, keypoints), rebuilt from a journal when the run ends; points and lines are left out " +
			"and counted.",
		Config:    func(registry.Kind) any { return &Config{} },
		SplitsKey: VideoSplitsKey,
		Written:   splittree.Written,
		NewLayout: func(st store.Store, _ any, o registry.LayoutOptions) (core.Sink, error) {
			return New(st, Options{Split: o.Split, OnSkip: o.OnSkip}), nil
		},
	})
}
