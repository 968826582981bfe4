package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/vpipe/vpipe/metrics"
)

// TestStageCounters: items in and out are counted exactly; a stage blocked on a
// full queue records time blocked on its output, and the stage it waits for
// is named the bottleneck. No timing is asserted beyond "more than zero": the
// sink holds every item until the queue before it is full again, so the
// source is the one that waits, whatever the machine's load.
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
	seen := 0
	Sink(p, "sink", double, Options{Workers: 1}, func(ctx context.Context, v int) error {
		seen++
		for seen < 2*n-q-2 { // the queue before the sink is full: "double" is blocked on it
			if l, c := sinkQueue(set); l == c {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
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
	if s := stats["sink"]; s.In != 2*n || s.Out != 0 || s.QueueCap != q || s.Busy <= 0 || s.QueueMean <= 0 {
		t.Errorf("sink: %+v", s)
	}
	if b := metrics.Bottleneck(set.Stats()); b != "sink" {
		t.Errorf("bottleneck %q, want sink; %+v", b, set.Stats())
	}
}

func sinkQueue(set *metrics.Set) (int, int) {
	for _, s := range set.Stages() {
		if s.Name == "sink" {
			return s.Queue()
		}
	}
	return -1, 0
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
