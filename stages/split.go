package stages

import (
	"context"
	"fmt"

	"github.com/vpipe/vpipe/core"
)

// planSplits has a sink that splits videos (SinkFeatures.Plan) decide the
// split of every video the source lists, refused ones aside, before any is
// written; dry writes nothing (plan). Every process of a sharded or queued
// run lists the whole source, so each hands the sink the same videos.
func (r *Runner) planSplits(ctx context.Context, items []*core.Item, refused map[*core.Item]error, dry bool) error {
	plan := r.Sink.Features().Plan
	if plan == nil {
		return nil
	}
	var ok []*core.Item
	for _, it := range items {
		if refused[it] == nil {
			ok = append(ok, it)
		}
	}
	got, err := plan(ctx, ok, dry)
	if err != nil {
		return fmt.Errorf("splitting the videos (sink.split): %w", err)
	}
	r.splitsMu.Lock()
	defer r.splitsMu.Unlock()
	if r.splits == nil {
		r.splits = map[string]string{}
	}
	for id, s := range got {
		r.splits[id] = s
	}
	return nil
}

// splitOf is a video's split ("" without splits).
func (r *Runner) splitOf(it *core.Item) string {
	r.splitsMu.RLock()
	defer r.splitsMu.RUnlock()
	return r.splits[it.ID()]
}
