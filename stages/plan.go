package stages

import (
	"context"
	"errors"
	"fmt"
)

// PlanRow is what a run would do with one video.
type PlanRow struct {
	Video    string
	Frames   int // in the video
	Selected int // by the sampling settings
	Existing int // of those, already in the sink
	Width    int // output size
	Height   int
	Err      error

	// PerSink counts, with several sinks, the selected frames each one has
	// (Existing is then those every sink has).
	PerSink []int
	// Rules is what each selection rule leaves, in order of application.
	Rules string
	// Split is the video's split, with a sink that splits videos.
	Split string
}

// Plan works out what Run would write, without decoding or writing anything. It
// makes Run's checks: a video Run would refuse or fail before writing gets a
// row with its error; a problem that stops the whole run (the sink's meta.json
// unreadable or in conflict) is returned after the rows.
func (r *Runner) Plan(ctx context.Context, row func(PlanRow)) error {
	l, err := r.items(ctx)
	if err != nil {
		return err
	}
	items, refused := l.kept, l.refused
	stop := r.checkSink(ctx)
	if err := r.planSplits(ctx, l.all, refused, true); err != nil {
		stop = errors.Join(stop, err)
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := refused[it]; err != nil {
			row(PlanRow{Video: it.ID(), Err: err})
			continue
		}
		p, err := r.prepare(ctx, it, nil)
		if err != nil {
			row(PlanRow{Video: it.ID(), Err: err})
			continue
		}
		p.close()
		pr := PlanRow{Video: it.ID(), Frames: p.index.Count, Selected: len(p.want) + p.skipped, Existing: p.skipped, Width: p.outW, Height: p.outH,
			Rules: p.selection.Describe(r.contentRules()), Split: r.splitOf(it)}
		if pr.PerSink, err = r.perSink(ctx, it.DestDataset(), p.names); err != nil {
			row(PlanRow{Video: it.ID(), Err: err})
			continue
		}
		row(pr)
	}
	return stop
}

// perSink counts, for a sink of several members (a fan-out), how many of the
// selected frames (names) each member has; nil for a single sink.
func (r *Runner) perSink(ctx context.Context, ds []string, names []string) ([]int, error) {
	var out []int
	for i, m := range r.Sink.Features().Members {
		have, err := m.Existing(ctx, ds)
		if err != nil {
			return nil, fmt.Errorf("sink %d (%s): %w", i+1, m.Describe(), err)
		}
		n := 0
		for _, name := range names {
			if have[name] {
				n++
			}
		}
		out = append(out, n)
	}
	return out, nil
}
