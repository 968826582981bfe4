package stages

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// listing is the source's videos as a run sees them.
type listing struct {
	all  []*core.Item // every video of the source (what splits are decided from)
	kept []*core.Item // those this run samples (Keep: a shard's)
	// refused are the videos that may not be written because their
	// destination is also another's (see clashes).
	refused map[*core.Item]error
}

// items reads the source project and lists its videos.
func (r *Runner) items(ctx context.Context) (*listing, error) {
	if err := r.loadProject(ctx); err != nil {
		return nil, err
	}
	var items []*core.Item
	err := r.Source.Items(ctx, func(it *core.Item) error {
		items = append(items, it)
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	l := &listing{all: items, kept: items, refused: clashes(items)}
	r.matchFramesFile(items)
	if r.Keep != nil {
		l.kept = slices.DeleteFunc(slices.Clone(items), func(it *core.Item) bool { return !r.Keep(it) })
	}
	return l, nil
}

// begin prepares the sink: a meta conflict stops the run here, before any image
// is written.
func (r *Runner) begin(ctx context.Context) error {
	custom := map[string]any{}
	for _, k := range []string{"is_sample", "video_project_id", "video_project_name"} {
		if v, ok := r.project.Provenance[k]; ok {
			custom[k] = v
		}
	}
	if admit := r.Sink.Features().Admit; admit != nil {
		w := r.Writer
		if w.Role == "" && r.Feed != nil {
			w = core.Writer{Role: "queue worker", Shared: true}
		}
		admit(w)
	}
	_, err := r.Sink.Begin(ctx, r.project.Meta, custom)
	return err
}

// Check makes the checks that Run and Plan make before any video (vpipe
// validate): it reads the source's project (a Supervisely source's from the
// server), then checks the sink against it (its meta.json readable and not
// in conflict).
func (r *Runner) Check(ctx context.Context) error {
	if err := r.loadProject(ctx); err != nil {
		return err
	}
	return r.checkSink(ctx)
}

// checkSink is the sink's start-up check against the loaded project (Plan
// and Check; Run's Begin makes it too).
func (r *Runner) checkSink(ctx context.Context) error { return r.Sink.Check(ctx, r.project.Meta) }

func (r *Runner) loadProject(ctx context.Context) error {
	p, err := r.Source.Project(ctx)
	if err != nil {
		return err
	}
	if r.Config.Sampling.OnlyAnnotated && p.Meta == nil {
		return fmt.Errorf("sampling.only_annotated: %s has no annotations (it is not a Supervisely video project)", r.Source.Describe())
	}
	r.project = p
	return nil
}

// clashes finds the videos whose destination dataset is also another's: two
// videos going to one dataset (a video directly in a local source folder goes
// to ds0, and so does one of the same name in a sub-folder ds0), or a video's
// dataset that is also a dataset other videos are under (a source dataset named
// like a video beside it). Neither side may be written: each gets an error
// naming both files.
func clashes(items []*core.Item) map[*core.Item]error {
	key := func(ds []string) string { return strings.Join(ds, "/") }
	out := map[*core.Item]error{}
	refuse := func(it *core.Item, err error) {
		if out[it] == nil {
			out[it] = err
		}
	}
	video := map[string]*core.Item{} // destination dataset -> the first video written there
	for _, it := range items {
		k := key(it.DestDataset())
		if o, ok := video[k]; ok {
			refuse(o, fmt.Errorf("%s: its dataset %s is also where %s goes; rename one of them", o.Open, k, it.Open))
			refuse(it, fmt.Errorf("%s: its dataset %s is also where %s goes; rename one of them", it.Open, k, o.Open))
			continue
		}
		video[k] = it
	}
	for _, it := range items {
		for i := 1; i <= len(it.Dataset); i++ {
			k := key(it.Dataset[:i])
			if o, ok := video[k]; ok {
				refuse(o, fmt.Errorf("%s: its dataset %s is also a dataset that holds %s; rename one of them", o.Open, k, it.Open))
				refuse(it, fmt.Errorf("%s: it goes under dataset %s, which is also the dataset of %s; rename one of them", it.Open, k, o.Open))
			}
		}
	}
	return out
}
