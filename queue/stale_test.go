package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
)

// A worker cut off from the server past the ack wait (its heartbeats lost)
// no longer holds its video: the server gave it to another, which works on
// it. When the first then fails, its nak must not hand the video, held and
// heartbeated by the second, to a third (nor, at the limit, terminate it):
// only the current holder settles it.
func TestStaleLeaseLeavesTheVideoToItsHolder(t *testing.T) {
	q := open(t, Options{Stream: fmt.Sprintf("STALE-%d", time.Now().UnixNano()), AckWait: 2 * time.Second,
		MaxDeliveries: 3, RetryDelay: 50 * time.Millisecond, Poll: 100 * time.Millisecond})
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, items[:1], "test"); err != nil {
		t.Fatal(err)
	}
	w, err := q.Worker(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	skipBeat = func(l *lease) bool { return l.n == 1 } // the first holder is cut off
	defer func() { skipBeat = nil }()
	l1, ok, err := w.Next(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// After the ack wait the server hands it out again (a wait, not a timing
	// assertion).
	l2, ok, err := w.Next(ctx)
	if err != nil || !ok || l2.(*lease).n != 2 {
		t.Fatal(ok, err)
	}
	l1.Done(core.Outcome{Err: errors.New("disk full (simulated)")})
	// The second still holds it: nothing may be delivered meanwhile.
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if l, ok, err := w.Next(wctx); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while the second worker holds the video: %v %v %v", l, ok, err)
	}
	if n := w.Terminated.Load(); n != 0 {
		t.Fatalf("the stale holder's failure got the video terminated (%d) while another worked on it", n)
	}
	// The live holder's heartbeats are answered, so past the ack wait its
	// lease still stands and its own failure is retried as usual.
	time.Sleep(time.Second)
	if since, lapsed := l2.(*lease).lapsed(); lapsed {
		t.Fatalf("a heartbeating lease lapsed: no heartbeat confirmed for %s", since)
	}
	l2.Done(core.Outcome{Err: errors.New("transient")})
	l3, ok, err := w.Next(ctx)
	if err != nil || !ok || l3.(*lease).n != 3 || w.Retried.Load() != 1 {
		t.Fatal(ok, err, w.Retried.Load())
	}
	l3.Done(core.Outcome{Written: 3})
	st, err := q.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 1 || len(st.Failed) != 0 || st.Queued != 0 {
		t.Fatalf("status: %+v", st)
	}
}
