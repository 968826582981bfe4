package queue

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/natstest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls the log until it holds want (a guard against a hang, not a
// timed assertion).
func waitFor(t *testing.T, log *syncBuffer, want string) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !strings.Contains(log.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %q in the log:\n%s", want, log)
		}
	}
}

// TestOutageLogged: a worker waiting for videos while its NATS server goes
// down and comes back logs the connection lost (WARN, with the error) and back
// (INFO), and the failed reconnects (at most one a minute), then takes the video enqueued after the restart; its own Close is
// no news.
func TestOutageLogged(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	log := &syncBuffer{}
	ctx := context.Background()
	q, err := Open(ctx, Options{URL: ns.URL, Stream: "OUTAGE", Poll: 100 * time.Millisecond, Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w, err := q.Worker(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	type took struct {
		video string
		err   error
	}
	got := make(chan took, 1)
	go func() {
		l, _, err := w.Next(ctx)
		if err != nil {
			got <- took{err: err}
			return
		}
		_, name := l.Video()
		l.Done(core.Outcome{Written: 1})
		got <- took{video: name}
	}()
	ns.Crash()
	waitFor(t, log, `level=WARN msg="queue: NATS connection lost; reconnecting" server=`+ns.URL+" err=")
	waitFor(t, log, `level=WARN msg="queue: NATS still unreachable; reconnecting" server=`+ns.URL+" down_for=")
	if err := ns.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, log, `level=INFO msg="queue: NATS reconnected" server=`+ns.URL)
	if res, err := q.Enqueue(ctx, items[:1], "test"); err != nil || res.Added != 1 {
		t.Fatalf("enqueue after the restart: %+v %v", res, err)
	}
	select {
	case r := <-got:
		if r.err != nil || r.video != items[0].Name {
			t.Fatalf("took %+v", r)
		}
	case <-time.After(time.Minute): // a guard against a hang, not a timed assertion
		t.Fatalf("the worker took nothing after the restart:\n%s", log)
	}
	q.Close()
	t.Logf("log:\n%s", log)
	if n := strings.Count(log.String(), "NATS connection lost"); n != 1 || strings.Contains(log.String(), "connection closed") ||
		strings.Count(log.String(), "still unreachable") < 1 { // one a minute: a slow machine may log more
		t.Fatalf("%d disconnect lines, or the Close was logged:\n%s", n, log)
	}
}
