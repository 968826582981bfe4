// Package storesink makes a store a sink: the Supervisely image project
// layout (layouts/project) written on any store.Store, a folder
// (stores/local) or a bucket prefix (stores/s3) alike. meta.json,
// custom_data.json, and per dataset <dataset>/datasets/<child>/img|ann|meta/...;
// every object is written whole (a rename, one PUT) and a frame's image is
// its last, so an image that is listed always has its annotation and meta.
// Shared files are merged by the store's Update (a lock, or a conditional
// write), and a store that has writer locks admits each writer first.
//
// It registers itself as the registry's store sink: importing it makes every
// registered store a sink type.
package storesink

import (
	"context"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

func init() { registry.SetStoreSink(New) }

// New lays the project out on st (the store's own config has made it; the
// layout has no settings of its own).
func New(_ context.Context, st store.Store, _ any, _ registry.Deps) (core.Sink, error) {
	return project.New(st), nil
}
