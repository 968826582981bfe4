package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
)

// Status tells apart the videos not yet taken, those held by a worker or
// waiting for a retry, those done and those failed, at each step.
func TestStatusCounts(t *testing.T) {
	q := open(t, Options{Stream: fmt.Sprintf("COUNT-%d", time.Now().UnixNano()), MaxDeliveries: 2, RetryDelay: time.Minute, Poll: 200 * time.Millisecond})
	ctx := context.Background()
	four := []*core.Item{{Dataset: []string{"d"}, Name: "1.mp4"}, {Dataset: []string{"d"}, Name: "2.mp4"},
		{Dataset: []string{"d"}, Name: "3.mp4"}, {Dataset: []string{"d"}, Name: "4.mp4"}}
	if _, err := q.Enqueue(ctx, four, "test"); err != nil {
		t.Fatal(err)
	}
	check := func(step string, pending uint64, inFlight int, done uint64, failed int) {
		t.Helper()
		// Acks other than the double ack are applied by the server after
		// they are sent: poll until the counts settle (a wait, not a timing
		// assertion).
		var st *Status
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var err error
			if st, err = q.Status(ctx); err != nil {
				t.Fatal(err)
			}
			ok := st.Waiting == pending && st.InFlight == inFlight && st.Done == done && len(st.Failed) == failed
			if ok || time.Now().After(end) {
				break
			}
		}
		if st.Waiting != pending || st.InFlight != inFlight || st.Done != done || len(st.Failed) != failed {
			t.Fatalf("%s: pending %d, in flight %d, done %d, failed %d; want %d, %d, %d, %d",
				step, st.Waiting, st.InFlight, st.Done, len(st.Failed), pending, inFlight, done, failed)
		}
	}
	check("enqueued", 4, 0, 0, 0)
	w, err := q.Worker(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var held []core.Lease
	for range 3 {
		l, ok, err := w.Next(ctx)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		held = append(held, l)
	}
	check("three taken", 1, 3, 0, 0)
	held[0].Done(core.Outcome{Written: 2})
	check("one acked", 1, 2, 1, 0)
	held[1].Done(core.Outcome{Err: errors.New("transient")}) // back in a minute
	check("one waiting for its retry", 1, 2, 1, 0)
	held[2].Done(core.Outcome{Err: core.ErrNotInSource, Permanent: true})
	check("one terminated", 1, 1, 1, 1)
}
