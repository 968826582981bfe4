package project

import (
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the layout's section: it has no keys of its own.
type Config struct{}

// The Supervisely image project is the layout a store sink writes unless its
// format says otherwise.
func init() {
	registry.Register(registry.Spec{
		Kind: registry.Layout,
		Name: "supervisely",
		Summary: "The Supervisely image project (the default): meta.json, then per dataset img/, ann/ and meta/, one " +
			"dataset per video under its source dataset path. With split:, each video's dataset goes under a top-level " +
			"dataset named after its split; the splits are kept in " + SplitsFile + ".",
		Config:    func(registry.Kind) any { return &Config{} },
		SplitsKey: SplitsFile,
		Written:   Written,
		NewLayout: func(st store.Store, _ any, o registry.LayoutOptions) (core.Sink, error) {
			return NewWith(st, Options{Split: o.Split}), nil
		},
	})
	registry.SetDefault(registry.Layout, "supervisely")
}
