package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/natstest"
)

var srv *natstest.Server

func TestMain(m *testing.M) { os.Exit(natstest.Main(m, &srv)) }

func open(t *testing.T, o Options) *Queue {
	t.Helper()
	o.URL = srv.URL
	q, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

var items = []*core.Item{{Dataset: []string{"ds0"}, Name: "a.mp4"}, {Dataset: []string{"ds0", "x"}, Name: "b.mp4"}}

// The stream and consumer are made as asked: a work queue, explicit acks, the
// ack wait given, deliveries unbounded on the server (the worker bounds them).
func TestMade(t *testing.T) {
	q := open(t, Options{Stream: "MADE", AckWait: 3 * time.Second, DedupWindow: time.Minute})
	ctx := context.Background()
	si, err := q.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.Config.Retention != jetstream.WorkQueuePolicy || si.Config.Duplicates != time.Minute || si.Config.Subjects[0] != "vpipe.queue.MADE" {
		t.Fatalf("stream config: %+v", si.Config)
	}
	c, _ := q.stream.Consumer(ctx, consumerName)
	ci, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.AckPolicy != jetstream.AckExplicitPolicy || ci.Config.AckWait != 3*time.Second || ci.Config.MaxDeliver != -1 {
		t.Fatalf("consumer config: %+v", ci.Config)
	}
	// A second Open finds them; status of a stream never made is an error.
	open(t, Options{Stream: "MADE"})
	if _, err := Open(ctx, Options{URL: srv.URL, Stream: "NEVER", Existing: true}); err == nil || !strings.Contains(err.Error(), "NEVER") {
		t.Fatalf("status of a missing stream: %v", err)
	}
	for _, bad := range []Options{{Stream: "a.b"}, {AckWait: time.Millisecond}, {MaxDeliveries: -1}} {
		bad.URL = srv.URL
		if _, err := Open(ctx, bad); err == nil {
			t.Errorf("Open(%+v) accepted", bad)
		}
	}
}

// A message whose worker dies on every try (it never answers) is terminated
// once it comes more than MaxDeliveries times, and listed as failed; one
// given back by a stop (interrupted) comes again at once; an ack removes it.
func TestDeliveries(t *testing.T) {
	q := open(t, Options{Stream: "DIE", AckWait: time.Second, MaxDeliveries: 2, Poll: 200 * time.Millisecond})
	ctx := context.Background()
	if res, err := q.Enqueue(ctx, items[:1], "test"); err != nil || res.Added != 1 {
		t.Fatalf("enqueue: %+v %v", res, err)
	}
	w, err := q.Worker(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		l, ok, err := w.Next(ctx)
		if err != nil || !ok {
			t.Fatalf("delivery %d: %v %v", i, ok, err)
		}
		close(l.(*lease).stop) // the worker "dies": no heartbeat, no answer
	}
	// The third delivery is terminated at once and the queue is then empty.
	if _, ok, err := w.Next(ctx); ok || err != nil {
		t.Fatalf("after the limit: ok=%v err=%v", ok, err)
	}
	st, err := q.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 0 || len(st.Failed) != 1 || st.Failed[0].Video != "ds0/a.mp4" || !strings.Contains(st.Failed[0].Error, "never finished") {
		t.Fatalf("status: %+v", st)
	}

	// Given back by a stop: at once, without waiting for the ack wait.
	q2 := open(t, Options{Stream: "BACK", AckWait: time.Minute, Poll: 200 * time.Millisecond})
	q2.Enqueue(ctx, items, "test")
	w2, _ := q2.Worker(ctx, true)
	l, _, _ := w2.Next(ctx)
	ds, name := l.Video()
	l.Done(core.Outcome{Interrupted: true})
	l2, ok, err := w2.Next(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ds2, name2 := l2.Video(); name2 != name && name2 != "b.mp4" || len(ds2) == 0 {
		t.Fatalf("after giving %v/%s back: %v/%s", ds, name, ds2, name2)
	}
	l2.Done(core.Outcome{Written: 3})
	l3, _, _ := w2.Next(ctx)
	l3.Done(core.Outcome{Written: 1})
	if _, ok, err := w2.Next(ctx); ok || err != nil {
		t.Fatalf("all acked, until-empty: ok=%v err=%v", ok, err)
	}
	st, _ = q2.Status(ctx)
	if st.Done != 2 || st.Queued != 0 || len(st.Failed) != 0 || w2.Acked.Load() != 2 || w2.Returned.Load() != 1 {
		t.Fatalf("status: %+v, acked %d, returned %d", st, w2.Acked.Load(), w2.Returned.Load())
	}
	e, _ := q2.done.Get(ctx, key(items[0].Dataset, items[0].Name))
	var rec doneRecord
	if e == nil || json.Unmarshal(e.Value(), &rec) != nil || rec.Video != "ds0/a.mp4" {
		t.Fatalf("done record: %v", e)
	}
}

// A permanent failure is terminated at its first try; a transient one is
// retried after a delay that doubles, and terminated at the limit with the
// last error.
func TestFailures(t *testing.T) {
	q := open(t, Options{Stream: "FAIL", MaxDeliveries: 3, RetryDelay: 50 * time.Millisecond, Poll: 200 * time.Millisecond})
	ctx := context.Background()
	q.Enqueue(ctx, items, "test")
	w, _ := q.Worker(ctx, true)
	tries := map[string]int{}
	for {
		l, ok, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		_, name := l.Video()
		tries[name]++
		if name == "a.mp4" {
			l.Done(core.Outcome{Err: core.ErrNotInSource, Permanent: true})
		} else {
			l.Done(core.Outcome{Err: errorf("try %d broke", tries[name])})
		}
	}
	if tries["a.mp4"] != 1 || tries["b.mp4"] != 3 {
		t.Fatalf("tries: %v", tries)
	}
	st, _ := q.Status(ctx)
	if len(st.Failed) != 2 || st.Failed[1].Video != "ds0/x/b.mp4" || st.Failed[1].Error != "try 3 broke" || st.Failed[1].Deliveries != 3 {
		t.Fatalf("failed: %+v", st.Failed)
	}
	l := &lease{w: w, n: 1}
	var got []time.Duration
	for l.n = 1; l.n <= 8; l.n++ {
		got = append(got, l.retryDelay())
	}
	if got[0] != 50*time.Millisecond || got[1] != 100*time.Millisecond || got[7] != 50*time.Millisecond<<7 {
		t.Fatalf("retry delays: %v", got)
	}
	// Within the window, enqueueing again adds nothing.
	if res, _ := q.Enqueue(ctx, items[1:], "test"); res.Duplicates != 1 || res.Added != 0 {
		t.Fatalf("within the window: %+v", res)
	}
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
