package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vpipe/vpipe/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func numbers(n int) func(ctx context.Context, emit pipeline.Emit[int]) error {
	return func(ctx context.Context, emit pipeline.Emit[int]) error {
		for i := 0; i < n; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRunsEverything(t *testing.T) {
	p := pipeline.New(context.Background())
	src := pipeline.Source(p, "src", 2, numbers(1000))
	doubled := pipeline.Stage(p, "double", src, pipeline.Options{Workers: 4, Queue: 3},
		func(_ context.Context, v int, emit pipeline.Emit[int]) error {
			if err := emit(2 * v); err != nil {
				return err
			}
			return emit(2*v + 1)
		})
	var sum, n atomic.Int64
	pipeline.Sink(p, "sum", doubled, pipeline.Options{Workers: 3}, func(_ context.Context, v int) error {
		sum.Add(int64(v))
		n.Add(1)
		return nil
	})
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2000 || sum.Load() != 1999*2000/2 {
		t.Fatalf("n=%d sum=%d", n.Load(), sum.Load())
	}
}

// TestBackpressure: with a stalled sink, the source gets no further ahead than
// the queues and workers in between can hold.
func TestBackpressure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := pipeline.New(ctx)
	var produced atomic.Int64
	src := pipeline.Source(p, "src", 2, func(ctx context.Context, emit pipeline.Emit[int]) error {
		for i := 0; ; i++ {
			if err := emit(i); err != nil {
				return err
			}
			produced.Add(1)
		}
	})
	mid := pipeline.Stage(p, "mid", src, pipeline.Options{Workers: 2, Queue: 3},
		func(_ context.Context, v int, emit pipeline.Emit[int]) error { return emit(v) })
	release := make(chan struct{})
	pipeline.Sink(p, "stall", mid, pipeline.Options{Workers: 1}, func(ctx context.Context, v int) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	// src queue 2, 1 held by the forwarder into mid, 2 mid workers, mid queue 3,
	// 1 held by the forwarder into the sink, 1 in the sink, +1 in flight
	if got := produced.Load(); got > 2+1+2+3+1+1+1 {
		t.Fatalf("source ran %d items ahead of a stalled sink", got)
	}
	cancel()
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	close(release)
}

// TestFirstErrorStopsAll: an error in the middle of a busy run stops every stage,
// leaves no goroutine behind (TestMain checks) and is reported with its stage.
func TestFirstErrorStopsAll(t *testing.T) {
	p := pipeline.New(context.Background())
	src := pipeline.Source(p, "src", 1, func(ctx context.Context, emit pipeline.Emit[int]) error {
		for i := 0; ; i++ {
			if err := emit(i); err != nil {
				return err
			}
		}
	})
	boom := errors.New("boom")
	mid := pipeline.Stage(p, "explode", src, pipeline.Options{Workers: 3, Queue: 1},
		func(_ context.Context, v int, emit pipeline.Emit[int]) error {
			if v == 100 {
				return boom
			}
			return emit(v)
		})
	pipeline.Sink(p, "slow", mid, pipeline.Options{Workers: 2}, func(ctx context.Context, v int) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	err := p.Wait()
	var se *pipeline.StageError
	if !errors.Is(err, boom) || !errors.As(err, &se) || se.Stage != "explode" {
		t.Fatalf("Wait = %v", err)
	}
}

func TestCancelWhileBlocked(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := pipeline.New(ctx)
	src := pipeline.Source(p, "src", 0, numbers(1<<30))
	out := pipeline.Stage(p, "pass", src, pipeline.Options{Workers: 4}, func(_ context.Context, v int, emit pipeline.Emit[int]) error { return emit(v) })
	_ = out.Streams() // nobody reads: every goroutine ends up blocked on a send
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
}

type item int

func (i item) String() string { return fmt.Sprintf("item %d", int(i)) }

// TestPanicStopsTheRun: a panic in the source, a stage or the sink (one worker
// each, so nobody else reads its input) ends the run with a *StageError naming
// the stage and the value, instead of hanging; TestMain checks for leaks.
func TestPanicStopsTheRun(t *testing.T) {
	for _, where := range []string{"src", "mid", "end"} {
		t.Run(where, func(t *testing.T) {
			boom := func(stage string, v item) {
				if stage == where && v == 50 {
					panic("boom")
				}
			}
			p := pipeline.New(context.Background())
			src := pipeline.Source(p, "src", 1, func(ctx context.Context, emit pipeline.Emit[item]) error {
				for i := item(0); ; i++ {
					boom("src", i)
					if err := emit(i); err != nil {
						return err
					}
				}
			})
			mid := pipeline.Stage(p, "mid", src, pipeline.Options{Workers: 1, Queue: 1},
				func(_ context.Context, v item, emit pipeline.Emit[item]) error {
					boom("mid", v)
					return emit(v)
				})
			pipeline.Sink(p, "end", mid, pipeline.Options{Workers: 1}, func(_ context.Context, v item) error {
				boom("end", v)
				return nil
			})
			err := p.Wait()
			var se *pipeline.StageError
			var pe *pipeline.PanicError
			if !errors.As(err, &se) || se.Stage != where || !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
				t.Fatalf("Wait = %v", err)
			}
			want := where + ": panic on item 50: boom"
			if where == "src" {
				want = "src: panic: boom"
			}
			if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		})
	}
}
