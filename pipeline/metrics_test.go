package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/vpipe/vpipe/metrics"
)

// TestStageCounters: items in and out are counted exactly; the sink, which
// holds every item 2 ms while the stages before it have no work at all, has at
// least 80 × 2 ms busy (a lower bound: a sleep never ends early), the stage
// before it is blocked on its output (it can hand on 80 items in microseconds
// and its queue holds 3), and the sink is named the bottleneck (by a margin of
// about a thousand, not a close timing call).
func TestStageCounters(t *testing.T) {
	const n, q = 40, 3
	set := &metrics.Set{}
	p := NewWithMetrics(context.Background(), set)
	src := Source(p, "source", q, func(ctx context.Context, emit Emit[int]) error {
		for i := 0; i < n; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	})
	double := Stage(p, "double", src, Options{Workers: 2, Queue: q}, func(ctx context.Context, v int, emit Emit[int]) error {
		if err := emit(v); err != nil {
			return err
		}
		return emit(v)
	})
	const hold = 2 * time.Millisecond
	Sink(p, "sink", double, Options{Workers: 1}, func(ctx context.Context, v int) error {
		time.Sleep(hold)
		return nil
	})
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	stats := map[string]metrics.StageStats{}
	for _, s := range set.Stats() {
		stats[s.Name] = s
	}
	if s := stats["source"]; s.In != 0 || s.Out != n || s.QueueCap != 0 {
		t.Errorf("source: %+v", s)
	}
	if s := stats["double"]; s.In != n || s.Out != 2*n || s.Workers != 2 || s.QueueCap != q || s.WaitOut <= 0 {
		t.Errorf("double: %+v", s)
	}
	if s := stats["sink"]; s.In != 2*n || s.Out != 0 || s.QueueCap != q || s.Busy < 2*n*hold || s.QueueMean <= 0 {
		t.Errorf("sink: %+v", s)
	}
	if b := metrics.Bottleneck(set.Stats()); b != "sink" {
		t.Errorf("bottleneck %q, want sink; %+v", b, set.Stats())
	}
}

func TestStageErrorsCounted(t *testing.T) {
	set := &metrics.Set{}
	p := NewWithMetrics(context.Background(), set)
	src := Source(p, "source", 0, func(ctx context.Context, emit Emit[int]) error { return emit(1) })
	Sink(p, "sink", src, Options{}, func(ctx context.Context, v int) error { panic("boom") })
	if err := p.Wait(); err == nil {
		t.Fatal("no error")
	}
	if s := set.Stats()[1]; s.Name != "sink" || s.Errors != 1 || s.In != 1 {
		t.Errorf("sink: %+v", s)
	}
}
