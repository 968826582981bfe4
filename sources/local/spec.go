package local

import (
	"context"
	"fmt"
	"os"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
)

// Config is the local source's section (source:, type local).
type Config struct {
	Path string `mapstructure:"path" required:"true" doc:"a Supervisely video project (a folder with meta.json), a video file, or a folder of videos whose sub-folders become datasets (videos directly in it go to ds0); symlinks are followed, a loop or a broken link is skipped with a warning (see Configuration)"`
}

// The local source is the default one.
func init() {
	registry.Register(registry.Spec{
		Kind:    registry.Source,
		Name:    "local",
		Summary: "Videos on this machine: a Supervisely video project, a video file, or a folder of videos (recursive).",
		Config:  func(registry.Kind) any { return &Config{} },
		Check:   check,
		Where:   func(conf any) string { return conf.(*Config).Path },
		LocalPath: func(conf any) (string, string) {
			return "path", conf.(*Config).Path
		},
		NewSource: func(_ context.Context, conf any, d registry.Deps) (core.Source, error) {
			p := conf.(*Config).Path
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("path: %w", err) // the caller names the section
			}
			return &Source{Path: p, Log: d.Log}, nil
		},
	})
	registry.SetDefault(registry.Source, "local")
}

// check: a loaded config's path must exist.
func check(conf any, env registry.CheckEnv) []registry.Problem {
	p := conf.(*Config).Path
	if !env.OnDisk || p == "" { // an empty path is reported as required
		return nil
	}
	msg := ""
	if _, err := os.Stat(p); os.IsNotExist(err) {
		msg = fmt.Sprintf("%q does not exist", p)
	} else if err != nil {
		msg = err.Error()
	}
	if msg == "" {
		return nil
	}
	return []registry.Problem{{Key: "path", Msg: msg}}
}
