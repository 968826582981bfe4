// Package pipeline runs vpipe's streaming DAG: typed stages, each a pool of
// worker goroutines, joined by bounded channels, so a slow consumer blocks its
// producer all the way back to the source.
//
// The topology is go-streams': every stage is a streams.Flow (a source a
// streams.Source, the end a streams.Sink) and stages are joined the go-streams
// way, by forwarding one's Out to the next one's In and closing it. No bare
// go-streams operator is spliced in: it would run outside the panic recovery,
// the error path and the counters that every stage here has.
// go-streams itself is untyped, unbuffered, has no error path and no context, and
// its forwarding goroutines block for good if a consumer stops reading. This
// package adds what it lacks, once:
//   - types: Source/Stage/Sink take and give typed values;
//   - queue sizes: each stage's output channel has the capacity it is given;
//   - an error path: the first error of any stage cancels the run and is
//     returned by Wait as a *StageError naming the stage;
//   - cancellation that drains instead of leaking: after an error or
//     cancellation the source stops and closes its output, and every worker
//     keeps reading (and dropping) its input until it closes, so every
//     forwarding goroutine finishes. Wait returns when every goroutine has ended.
//
// A panic in any goroutine of the run (a source, a worker, a forwarder) is
// recovered into a *StageError wrapping a *PanicError that names the stage and
// the value it was handling, and stops the run like any other error. Worker and
// forwarding goroutines run in one conc ContextPool, so Wait accounts for them.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/reugn/go-streams"
	"github.com/sourcegraph/conc/pool"

	"github.com/vpipe/vpipe/metrics"
)

// Pipeline is one run of connected stages.
type Pipeline struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	pool    *pool.ContextPool
	metrics *metrics.Set
}

// New starts an empty pipeline bound to parent.
func New(parent context.Context) *Pipeline { return NewWithMetrics(parent, nil) }

// NewWithMetrics is New counting into m (each stage adds itself; nil = a new Set).
func NewWithMetrics(parent context.Context, m *metrics.Set) *Pipeline {
	ctx, cancel := context.WithCancelCause(parent)
	if m == nil {
		m = &metrics.Set{}
	}
	return &Pipeline{ctx: ctx, cancel: cancel, pool: pool.New().WithContext(ctx).WithFirstError(), metrics: m}
}

// Metrics is the run's per-stage counters.
func (p *Pipeline) Metrics() *metrics.Set { return p.metrics }

// Context is the run's context: done once the run stops (an error, a panic, or
// the parent's cancellation).
func (p *Pipeline) Context() context.Context { return p.ctx }

// StageError tells which stage failed.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// PanicError is a panic recovered in a stage: a bug, reported as the stage's error.
type PanicError struct {
	On    string // the value being handled (its String()), or ""
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string {
	if e.On != "" {
		return fmt.Sprintf("panic on %s: %v", e.On, e.Value)
	}
	return fmt.Sprintf("panic: %v", e.Value)
}

// safe runs fn, turning a panic into a *PanicError; v (if a fmt.Stringer) names
// what fn was handling.
func safe(v any, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			on := ""
			if s, ok := v.(fmt.Stringer); ok {
				on = s.String()
			}
			err = &PanicError{On: on, Value: r, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// Emit sends a value downstream; it blocks while the queue is full and returns
// the context's error if the run is stopping.
type Emit[T any] func(T) error

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

// Outlet is a typed handle on a stage's output stream.
type Outlet[T any] struct {
	p   *Pipeline
	out streams.Outlet
}

// Streams is the untyped go-streams outlet, to feed a go-streams operator.
func (o *Outlet[T]) Streams() streams.Outlet { return o.out }

// node is a stage as a go-streams Flow: its workers read In, its queue is Out.
type node struct {
	p   *Pipeline
	in  chan any
	out chan any
}

var _ streams.Flow = (*node)(nil)
var _ streams.Source = (*node)(nil)

func (n *node) In() chan<- any  { return n.in }
func (n *node) Out() <-chan any { return n.out }

func (n *node) Via(f streams.Flow) streams.Flow {
	n.p.connect(n, f)
	return f
}

func (n *node) To(s streams.Sink) {
	n.p.connect(n, s)
	s.AwaitCompletion()
}

// end is the pipeline's streams.Sink.
type end struct {
	in   chan any
	done chan struct{}
}

func (e *end) In() chan<- any   { return e.in }
func (e *end) AwaitCompletion() { <-e.done }

// connect forwards everything from an outlet to an inlet, then closes the inlet:
// go-streams' DoStream, run in the pool so that Wait accounts for it. Once the
// run stops it drops what it reads instead of sending it, so it never blocks on
// a consumer that has ended, and it reads its input to the end, so nothing
// upstream blocks on it.
func (p *Pipeline) connect(from streams.Outlet, to streams.Inlet) {
	p.pool.Go(func(ctx context.Context) error {
		defer close(to.In())
		defer func() {
			for range from.Out() { // after a panic: drain, so upstream can end
			}
		}()
		return p.fail("forward", safe(nil, func() error {
			for v := range from.Out() {
				select {
				case to.In() <- v:
				case <-ctx.Done():
				}
			}
			return nil
		}))
	})
}

// clock splits one goroutine's time between busy and blocked on its input or
// output. It belongs to that goroutine: only the stage's counters are shared.
type clock struct {
	st      *metrics.Stage
	mark    time.Time // when the current busy stretch began
	emitted bool      // during the current item: its busy time is flushed already
}

func newClock(st *metrics.Stage) *clock { return &clock{st: st, mark: time.Now()} }

// busy ends a busy stretch now and returns the time.
func (c *clock) busy() time.Time {
	t := time.Now()
	c.st.AddBusy(t.Sub(c.mark))
	c.mark = t
	return t
}

// recv takes the next input; time spent waiting for it counts as blocked on
// the input (a ready item costs no clock read).
func (c *clock) recv(in <-chan any) (any, bool) {
	select {
	case v, ok := <-in:
		return v, ok
	default:
	}
	t := c.busy()
	v, ok := <-in
	c.mark = time.Now()
	c.st.AddWaitIn(c.mark.Sub(t))
	return v, ok
}

// recvOr is recv that also returns (woke true) when wake fires first.
func (c *clock) recvOr(in <-chan any, wake <-chan struct{}) (v any, ok, woke bool) {
	select {
	case v, ok := <-in:
		return v, ok, false
	case <-wake:
		return nil, true, true
	default:
	}
	t := c.busy()
	defer func() {
		c.mark = time.Now()
		c.st.AddWaitIn(c.mark.Sub(t))
	}()
	select {
	case v, ok := <-in:
		return v, ok, false
	case <-wake:
		return nil, true, true
	}
}

// sender is a goroutine's Emit: it ends the busy stretch (so the counters move
// during a long call, such as decoding a whole video) and counts time blocked on
// a full queue as blocked on the output.
func sender[T any](ctx context.Context, out chan<- any, c *clock) Emit[T] {
	return func(v T) error {
		c.emitted = true
		t := c.busy()
		select {
		case out <- v:
			c.st.Out()
			return nil
		case <-ctx.Done(): // once stopping, a queue that forwarders drain must not keep a producer going
			return ctx.Err()
		default:
		}
		defer func() {
			c.mark = time.Now()
			c.st.AddWaitOut(c.mark.Sub(t))
		}()
		select {
		case out <- v:
			c.st.Out()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Source runs fn once; what it emits goes into a channel of capacity queue.
// It stops at the first error or cancellation and closes its output.
func Source[T any](p *Pipeline, name string, queue int, fn func(ctx context.Context, emit Emit[T]) error) *Outlet[T] {
	n := &node{p: p, out: make(chan any, max(queue, 0))}
	st := p.metrics.NewStage(name, 1, nil)
	p.pool.Go(func(ctx context.Context) error {
		defer close(n.out)
		c := newClock(st)
		defer c.busy()
		emit := sender[T](ctx, n.out, c)
		ctx = context.WithValue(ctx, clockKey{}, c)
		return p.failStage(st, safe(nil, func() error { return fn(ctx, emit) }))
	})
	return &Outlet[T]{p: p, out: n}
}

type clockKey struct{}

// WaitingInput tells, from a Source's fn (ctx is the one it was given), that
// it waits for what it hands out (a work queue with nothing ready) until end
// is called: the time counts as waiting on its input, not as the stage's
// work. WaitingOutput is a wait for room downstream. Elsewhere they do nothing.
func WaitingInput(ctx context.Context) (end func()) { return waiting(ctx, (*metrics.Stage).AddWaitIn) }

// WaitingOutput: see WaitingInput.
func WaitingOutput(ctx context.Context) (end func()) {
	return waiting(ctx, (*metrics.Stage).AddWaitOut)
}

func waiting(ctx context.Context, add func(*metrics.Stage, time.Duration)) func() {
	c, _ := ctx.Value(clockKey{}).(*clock)
	if c == nil {
		return func() {}
	}
	t := c.busy()
	return func() {
		c.mark = time.Now()
		add(c.st, c.mark.Sub(t))
	}
}

// Stage runs fn on every input with o.Workers goroutines; each call may emit any
// number of outputs (a video becomes frames). Output order across workers is
// not kept. The output channel closes when every worker has returned.
func Stage[In, Out any](p *Pipeline, name string, in *Outlet[In], o Options, fn func(ctx context.Context, v In, emit Emit[Out]) error) *Outlet[Out] {
	o = o.norm()
	n := &node{p: p, in: make(chan any), out: make(chan any, o.Queue)}
	p.connect(in.out, n)
	st := p.metrics.NewStage(name, o.Workers, in.out.Out())
	p.workers(st, n.in, func(ctx context.Context, c *clock) func(any) error {
		emit := sender[Out](ctx, n.out, c)
		return func(v any) error { return fn(ctx, v.(In), emit) }
	}, func() { close(n.out) })
	return &Outlet[Out]{p: p, out: n}
}

// Sink consumes every input with o.Workers goroutines.
func Sink[In any](p *Pipeline, name string, in *Outlet[In], o Options, fn func(ctx context.Context, v In) error) {
	o = o.norm()
	e := &end{in: make(chan any), done: make(chan struct{})}
	p.connect(in.out, e)
	st := p.metrics.NewStage(name, o.Workers, in.out.Out())
	p.workers(st, e.in, func(ctx context.Context, _ *clock) func(any) error {
		return func(v any) error { return fn(ctx, v.(In)) }
	}, func() { close(e.done) })
}

// Grouper is the state of a Group stage: Add takes each input, Flush is
// called when the stage's wake channel fires and, with final true, once its
// input has closed (also after a stop: emit then fails, and what is held must
// be let go).
type Grouper[In, Out any] interface {
	Add(ctx context.Context, v In, emit Emit[Out]) error
	Flush(ctx context.Context, emit Emit[Out], final bool) error
}

// Group runs g in one goroutine over in: a stage that holds values back (a
// batcher), under the run's recovery, error path and counters like any
// other. A send on wake (nil: never) calls g.Flush between two inputs.
func Group[In, Out any](p *Pipeline, name string, in *Outlet[In], queue int, wake <-chan struct{}, g Grouper[In, Out]) *Outlet[Out] {
	n := &node{p: p, in: make(chan any), out: make(chan any, max(queue, 0))}
	p.connect(in.out, n)
	st := p.metrics.NewStage(name, 1, in.out.Out())
	p.pool.Go(func(ctx context.Context) error {
		defer close(n.out)
		c := newClock(st)
		defer c.busy()
		emit := sender[Out](ctx, n.out, c)
		var first error
		note := func(v any, fn func() error) {
			if err := p.failStage(st, safe(v, fn)); err != nil && first == nil {
				first = err
			}
		}
		for {
			v, ok, woke := c.recvOr(n.in, wake)
			switch {
			case woke:
				note(nil, func() error { return g.Flush(ctx, emit, false) })
			case !ok:
				note(nil, func() error { return g.Flush(ctx, emit, true) })
				return first
			case ctx.Err() == nil:
				st.In()
				note(v, func() error { return g.Add(ctx, v.(In), emit) })
			}
		}
	})
	return &Outlet[Out]{p: p, out: n}
}

// workers starts n goroutines running work over in, each with its own handler
// (built per goroutine), and calls after once all of them have returned.
func (p *Pipeline) workers(st *metrics.Stage, in <-chan any, handler func(context.Context, *clock) func(any) error, after func()) {
	var wg sync.WaitGroup
	wg.Add(st.Workers)
	for i := 0; i < st.Workers; i++ {
		p.pool.Go(func(ctx context.Context) error {
			defer wg.Done()
			c := newClock(st)
			return p.work(ctx, st, c, in, handler(ctx, c))
		})
	}
	p.pool.Go(func(context.Context) error {
		wg.Wait()
		after()
		return nil
	})
}

// work runs fn on every input until the input closes. After the run stops
// (an error or a panic anywhere, or cancellation) it goes on reading and drops
// what it reads, so that everything upstream can finish.
func (p *Pipeline) work(ctx context.Context, st *metrics.Stage, c *clock, in <-chan any, fn func(any) error) error {
	var first error
	defer c.busy()
	for {
		v, ok := c.recv(in)
		if !ok {
			return first
		}
		if ctx.Err() != nil {
			continue
		}
		st.In()
		if err := p.failStage(st, safe(v, func() error { return fn(v) })); err != nil && first == nil {
			first = err
		}
		if !c.emitted { // a sink, or an item that emitted nothing: count its time now
			c.busy()
		}
		c.emitted = false // what follows its last emit counts at the next one (one clock read an item)
	}
}

// failStage is fail, counted as an error of the stage.
func (p *Pipeline) failStage(st *metrics.Stage, err error) error {
	if err = p.fail(st.Name, err); err != nil {
		st.Error()
	}
	return err
}

// fail names a stage's error and stops the run with it; cancellation is not an
// error of the stage.
func (p *Pipeline) fail(name string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	var se *StageError
	if !errors.As(err, &se) {
		err = &StageError{Stage: name, Err: err}
	}
	p.cancel(err)
	return err
}

// Wait blocks until every goroutine of the run has ended and returns the first
// error (a *StageError), or the context's error if the run was cancelled.
func (p *Pipeline) Wait() error {
	err := p.pool.Wait()
	if err == nil {
		err = p.ctx.Err()
	}
	p.cancel(nil)
	return err
}
