package local

import (
	"context"
	"strings"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

// Config is the local store's section (sink: or sinks[i], type local).
type Config struct {
	Path  string `mapstructure:"path" required:"true" doc:"the image project folder (made if missing)"`
	Fsync bool   `mapstructure:"fsync" doc:"sync every file (image, annotation, meta, meta.json, custom_data.json) to disk before it is renamed into place, and its folder after, so what a run reported written survives a power cut or a kernel crash; costs a disk flush per file"`
}

// The local store is the default sink: a folder on disk, the layout written
// on it by the store sink (sinks/storesink). It is no source type: a local
// source (sources/local) also reads single files and follows symlinks.
func init() {
	registry.Register(registry.Spec{
		Kind:    registry.Store,
		Name:    "local",
		Summary: "A folder on disk. Each file is written to a temporary name and renamed into place; a writer holds a lock file in the folder, so a second unsharded run into it is refused.",
		Config:  func(registry.Kind) any { return &Config{Path: "out"} },
		Where:   func(conf any) string { return conf.(*Config).Path },
		Locate: func(loc string) (any, bool) {
			return &Config{Path: loc}, !strings.Contains(loc, "://")
		},
		LocalPath: func(conf any) (string, string) {
			return "path", conf.(*Config).Path
		},
		NewStore: func(_ context.Context, conf any, d registry.Deps) (store.Store, error) {
			c := conf.(*Config)
			s := New(c.Path)
			s.Fsync, s.Key = c.Fsync, d.Key("path")
			return s, nil
		},
	})
	registry.SetDefault(registry.Sink, "local")
}
