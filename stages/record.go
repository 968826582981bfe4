package stages

import (
	"context"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// record writes the custom data of the video's datasets, once per video, before
// its first image: a video that writes no image leaves no dataset and binds no
// output settings.
func (r *Runner) record(ctx context.Context, j *job) error {
	j.record.Do(func() { j.recordErr = r.recordDatasets(ctx, j.item, j.meta, j.output) })
	return j.recordErr
}

// recordDatasets writes the custom data of the video's source dataset (once a
// run, and split: a sink that splits videos has a source dataset in each
// split) and of the video's own dataset.
func (r *Runner) recordDatasets(ctx context.Context, it *core.Item, meta, output map[string]any) error {
	parent := map[string]any{}
	for _, k := range []string{"is_sample", "video_project_id", "video_project_name", "video_dataset_id", "video_dataset_name"} {
		if v, ok := meta[k]; ok {
			parent[k] = v
		}
	}
	split := r.splitOf(it)
	for _, a := range it.Ancestors {
		k := split + "\x01" + strings.Join(a.Dataset, "\x00")
		a.Video = it
		if _, done := r.datasets.LoadOrStore(k, true); !done {
			if err := r.Sink.Dataset(ctx, a); err != nil {
				r.datasets.Delete(k) // not recorded: the next video tries again
				return err
			}
		}
	}
	key := split + "\x01" + strings.Join(it.Dataset, "\x00")
	if _, done := r.datasets.LoadOrStore(key, true); !done {
		if err := r.Sink.Dataset(ctx, core.DatasetInfo{Dataset: it.Dataset, Custom: parent, Video: it}); err != nil {
			r.datasets.Delete(key) // not recorded: the next video tries again
			return err
		}
	}
	custom := map[string]any{core.OutputKey: output}
	for k, v := range meta {
		custom[k] = v
	}
	return r.Sink.Dataset(ctx, core.DatasetInfo{Dataset: it.DestDataset(), Custom: custom, Video: it})
}
