package pipeline

import (
	"context"
	"testing"
)

// BenchmarkPipeline is the per-item cost of the wrapper (forwarders, workers,
// the per-stage counters): a source, two stages and a sink passing pointers,
// with no work of their own. Compare ns/op and allocs/op with and without the
// counters to see what they cost.
func BenchmarkPipeline(b *testing.B) {
	type item struct{ n int }
	items := make([]*item, 1024)
	for i := range items {
		items[i] = &item{i}
	}
	b.ReportAllocs()
	b.ResetTimer()
	p := New(context.Background())
	src := Source(p, "source", 4, func(ctx context.Context, emit Emit[*item]) error {
		for i := 0; i < b.N; i++ {
			if err := emit(items[i%len(items)]); err != nil {
				return err
			}
		}
		return nil
	})
	pass := func(ctx context.Context, v *item, emit Emit[*item]) error { return emit(v) }
	a := Stage(p, "a", src, Options{Workers: 2, Queue: 4}, pass)
	c := Stage(p, "b", a, Options{Workers: 2, Queue: 4}, pass)
	Sink(p, "sink", c, Options{Workers: 2}, func(ctx context.Context, v *item) error { return nil })
	if err := p.Wait(); err != nil {
		b.Fatal(err)
	}
}
