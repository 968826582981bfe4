package stages

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/pipeline"
)

// catalog finds a leased video among the source's videos, listing the source
// again (at most every relistEvery) for one it does not know: videos may have
// been added since the run started.
type catalog struct {
	r       *Runner
	mu      sync.Mutex
	byKey   map[string]*core.Item
	refused map[string]error
	listed  time.Time
}

var relistEvery = 5 * time.Second

func itemKey(dataset []string, name string) string {
	return strings.Join(append(append([]string{}, dataset...), name), "\x00")
}

func (c *catalog) set(items []*core.Item, refused map[*core.Item]error) {
	c.byKey, c.refused = map[string]*core.Item{}, map[string]error{}
	for _, it := range items {
		k := itemKey(it.Dataset, it.Name)
		c.byKey[k] = it
		if err := refused[it]; err != nil {
			c.refused[k] = err
		}
	}
	c.listed = time.Now()
}

func (c *catalog) find(ctx context.Context, dataset []string, name string) (*core.Item, error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := itemKey(dataset, name)
	if it, ok := c.byKey[k]; ok {
		return it, c.refused[k], nil
	}
	if time.Since(c.listed) >= relistEvery {
		var items []*core.Item
		err := c.r.Source.Items(ctx, func(it *core.Item) error {
			items = append(items, it)
			return ctx.Err()
		})
		if err != nil {
			return nil, nil, err
		}
		refused := clashes(items)
		if err := c.r.planSplits(ctx, items, refused, false); err != nil {
			return nil, nil, err
		}
		c.set(items, refused)
		if it, ok := c.byKey[k]; ok {
			return it, c.refused[k], nil
		}
	}
	return nil, nil, fmt.Errorf("%s: %w %s (was it removed, or was it queued with another config?)",
		strings.Join(append(append([]string{}, dataset...), name), "/"), core.ErrNotInSource, c.r.Source.Describe())
}

// feed is the enumerate stage of a run with a Feed: it takes a video from the
// feed whenever a decode worker is free and adds its job to jobs.
func (r *Runner) feed(ctx context.Context, cat *catalog, workers int, add func(*job) *job, emit pipeline.Emit[*job]) error {
	slots := make(chan struct{}, workers)
	for {
		hook("enumerate")
		if err := r.takeSlot(ctx, slots); err != nil {
			return err
		}
		wait := pipeline.WaitingInput(ctx) // the queue's wait is not the stage's work
		lease, ok, err := r.Feed.Next(ctx)
		wait()
		if err != nil || !ok {
			return err
		}
		ds, name := lease.Video()
		it, refused, err := cat.find(ctx, ds, name)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				lease.Done(core.Outcome{Interrupted: true})
				return ctx.Err()
			}
			r.Log.Error("video failed", "video", strings.Join(append(append([]string{}, ds...), name), "/"), "err", err)
			lease.Done(core.Outcome{Err: err, Permanent: errors.Is(err, core.ErrNotInSource)})
			continue
		}
		j := add(&job{item: it, refused: refused, lease: lease, slot: slots})
		if err := emit(j); err != nil {
			return err
		}
	}
}

// takeSlot waits for a free decode worker (time counted as waiting on the
// stage's output).
func (r *Runner) takeSlot(ctx context.Context, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	defer pipeline.WaitingOutput(ctx)()
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle tells a leased job's feed how it ended (after the run's accounting);
// interrupted: the run stopped before the job finished.
func (j *job) settle(interrupted bool) {
	if j.lease == nil {
		return
	}
	if j.unwatch != nil {
		j.unwatch()
	}
	o := core.Outcome{Err: j.err, Permanent: j.err != nil && j.refused != nil, Written: j.written, Skipped: j.skipped}
	if j.err == nil && (interrupted || j.written+len(j.lost) < j.wanted) { // (a salvaged video, partial, is done)
		o.Interrupted = true
	}
	j.leaseDone(o)
}

// leaseDone tells the feed how the video ended, only the first time: the
// stall watchdog may have settled it already.
func (j *job) leaseDone(o core.Outcome) {
	j.leaseOnce.Do(func() { j.lease.Done(o) })
}

// freeSlot lets the feed take another video once this one is decoded.
func (j *job) freeSlot() {
	if j.slot != nil {
		<-j.slot
		j.slot = nil
	}
}
