// Package pipeline runs vpipe's streaming DAG: typed stages, each a pool of
// worker goroutines, joined by bounded channels. A slow consumer blocks its
// producer, all the way back to the source. The first error, or cancellation of
// the parent context, stops every stage: sends and receives select on the run's
// context, so no goroutine is left blocked, and Wait returns only when every
// goroutine has ended.
//
// Worker goroutines run in a conc ContextPool (cancel on first error, panics
// re-raised in Wait instead of crashing a lone goroutine).
package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/sourcegraph/conc/pool"
)

// Pipeline is one run of connected stages.
type Pipeline struct {
	ctx  context.Context
	pool *pool.ContextPool
}

// New starts an empty pipeline bound to ctx.
func New(ctx context.Context) *Pipeline {
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
	return &Pipeline{ctx: ctx, pool: p}
}

// StageError tells which stage failed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Emit sends a value downstream; it blocks while the queue is full and returns
// the context's error if the run is stopping.
type Emit[T any] func(T) error

func sender[T any](ctx context.Context, out chan<- T) Emit[T] {
	return func(v T) error {
		select {
		case out <- v:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Options size a stage.
type Options struct {
	Workers int // goroutines; < 1 means 1
	Queue   int // capacity of the output channel; < 0 means 0
}

func (o Options) norm() Options {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Queue < 0 {
		o.Queue = 0
	}
	return o
}

// Source runs fn once; what it emits goes into a channel of capacity queue.
func Source[T any](p *Pipeline, name string, queue int, fn func(ctx context.Context, emit Emit[T]) error) <-chan T {
	out := make(chan T, max(queue, 0))
	p.pool.Go(func(ctx context.Context) error {
		defer close(out)
		return wrap(name, fn(ctx, sender(ctx, out)))
	})
	return out
}

// Stage runs fn on every input with o.Workers goroutines; each call may emit any
// number of outputs (a video becomes frames). Output order across workers is
// not kept. The output channel closes when every worker has returned.
func Stage[In, Out any](p *Pipeline, name string, in <-chan In, o Options, fn func(ctx context.Context, v In, emit Emit[Out]) error) <-chan Out {
	o = o.norm()
	out := make(chan Out, o.Queue)
	var wg sync.WaitGroup
	wg.Add(o.Workers)
	for i := 0; i < o.Workers; i++ {
		p.pool.Go(func(ctx context.Context) error {
			defer wg.Done()
			emit := sender(ctx, out)
			return each(ctx, in, func(v In) error { return wrap(name, fn(ctx, v, emit)) })
		})
	}
	p.pool.Go(func(context.Context) error {
		wg.Wait()
		close(out)
		return nil
	})
	return out
}

// Sink consumes every input with o.Workers goroutines.
func Sink[In any](p *Pipeline, name string, in <-chan In, o Options, fn func(ctx context.Context, v In) error) {
	o = o.norm()
	for i := 0; i < o.Workers; i++ {
		p.pool.Go(func(ctx context.Context) error {
			return each(ctx, in, func(v In) error { return wrap(name, fn(ctx, v)) })
		})
	}
}

// Wait blocks until every goroutine of the run has ended and returns the first
// error (a *StageError), or the context's error if the run was cancelled.
func (p *Pipeline) Wait() error {
	err := p.pool.Wait()
	if err == nil {
		err = p.ctx.Err()
	}
	return err
}

func each[T any](ctx context.Context, in <-chan T, fn func(T) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil // the error that stopped the run is reported by its stage
		case v, ok := <-in:
			if !ok {
				return nil
			}
			if err := fn(v); err != nil {
				return err
			}
		}
	}
}

func wrap(name string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: name, Err: err}
}
