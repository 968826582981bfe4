package supervisely

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/supervisely/platform"
)

// Config is the Supervisely source's section (source:, type supervisely).
type Config struct {
	ProjectID int `mapstructure:"project_id" required:"true" doc:"the video project to sample"`
	// DatasetIDs, if any, limit the datasets sampled.
	DatasetIDs []int `mapstructure:"dataset_ids" doc:"[] = all; a dataset is sampled if listed, and descended into (its own videos left out) if a descendant is listed"`
	// Download is "stream" (read through FFmpeg with Range requests) or "file"
	// (videos.download into a temporary file).
	Download string `mapstructure:"download" doc:"stream: FFmpeg reads the video over HTTP with Range requests, no temporary copy; file: videos.download into a temporary file, removed on success, failure and Ctrl-C"`
}

// Downloads are the values of download.
var Downloads = []string{"file", "stream"}

func init() {
	registry.Register(registry.Spec{
		Kind:    registry.Source,
		Name:    "supervisely",
		Summary: "A video project on a Supervisely server (see Supervisely).",
		Config:  func(registry.Kind) any { return &Config{DatasetIDs: []int{}, Download: "stream"} },
		Check:   check,
		Uses:    []string{platform.Name},
		Where:   func(conf any) string { return fmt.Sprintf("project %d", conf.(*Config).ProjectID) },
		NewSource: func(_ context.Context, conf any, d registry.Deps) (core.Source, error) {
			c := conf.(*Config)
			client, err := platform.Client(d)
			if err != nil {
				return nil, err
			}
			ids := make([]int64, len(c.DatasetIDs))
			for i, id := range c.DatasetIDs {
				ids[i] = int64(id)
			}
			return &Source{C: client, ProjectID: int64(c.ProjectID), DatasetIDs: ids, Download: c.Download,
				ReadTimeout: time.Duration(platform.Section(d).ReadTimeoutS) * time.Second}, nil
		},
	})
}

func check(conf any, _ registry.CheckEnv) []registry.Problem {
	c := conf.(*Config)
	var ps []registry.Problem
	for i, id := range c.DatasetIDs {
		if id <= 0 {
			ps = append(ps, registry.Problem{Key: "dataset_ids", Msg: fmt.Sprintf("item %d: a dataset id must be > 0, got %d", i, id)})
			break
		}
	}
	if !slices.Contains(Downloads, c.Download) {
		ps = append(ps, registry.Problem{Key: "download", Msg: fmt.Sprintf("unknown download %q (available: file, stream)", c.Download)})
	}
	return ps
}
