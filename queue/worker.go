package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpipe/vpipe/core"
)

// Worker takes videos from the queue for a stages.Runner (it is its core.Feed).
type Worker struct {
	q          *Queue
	cons       jetstream.Consumer
	untilEmpty bool
	heartbeat  time.Duration
	ackWait    time.Duration
	host       string

	// What this worker did with the messages it took.
	Taken, Acked, Retried, Returned, Terminated atomic.Int64
}

// Worker makes a feed of this queue's videos. With untilEmpty, Next reports
// none left once the stream holds no message at all (none waiting, none held
// by any worker, none waiting for a retry); otherwise it waits for more.
func (q *Queue) Worker(ctx context.Context, untilEmpty bool) (*Worker, error) {
	c, err := q.stream.Consumer(ctx, consumerName)
	if err != nil {
		return nil, err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	w := &Worker{q: q, cons: c, untilEmpty: untilEmpty, host: fmt.Sprintf("%s/%d", host, os.Getpid()),
		heartbeat: max(ci.Config.AckWait/3, 100*time.Millisecond), ackWait: ci.Config.AckWait}
	if q.o.Poll > ci.Config.AckWait/2 {
		q.o.Poll = ci.Config.AckWait / 2
	}
	return w, nil
}

// AckWait is the consumer's (what the heartbeats are sent for).
func (w *Worker) AckWait() time.Duration { return 3 * w.heartbeat }

// Next takes the next video. It is core.Feed's.
func (w *Worker) Next(ctx context.Context) (core.Lease, bool, error) {
	log := w.q.logger()
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		fctx, cancel := context.WithTimeout(ctx, w.q.o.Poll)
		asked := time.Now() // the server delivers after this: the lease's start
		msg, err := w.cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			timeout := errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
			if !timeout {
				if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrConnectionClosed) {
					return nil, false, fmt.Errorf("%s: take a video: %w", w.q.Describe(), err)
				}
				log.Warn("queue: taking a video failed; trying again", "err", err)
				time.Sleep(w.q.o.Poll)
			}
			if w.untilEmpty {
				si, err := w.q.stream.Info(ctx)
				if err == nil && si.State.Msgs == 0 {
					return nil, false, nil
				}
			}
			continue
		}
		if l := w.take(msg, asked); l != nil {
			return l, true, nil
		}
	}
}

// take checks a delivered message; nil when it was terminated at once.
func (w *Worker) take(msg jetstream.Msg, asked time.Time) *lease {
	n := 1
	if md, err := msg.Metadata(); err == nil {
		n = int(md.NumDelivered)
	}
	var m Message
	if err := json.Unmarshal(msg.Data(), &m); err != nil || m.Name == "" {
		if err == nil {
			err = errors.New("no video name")
		}
		w.terminate(msg, "", Failure{Video: fmt.Sprintf("(message %q)", truncate(string(msg.Data()), 80)),
			Error: fmt.Sprintf("not a vpipe video message: %v", err), Deliveries: n}, true)
		return nil
	}
	k := key(m.Dataset, m.Name)
	if m.Sink != "" && w.q.o.Sink != "" && m.Sink != w.q.o.Sink {
		// Sampled here it would be acked without ever reaching its sink.
		w.terminate(msg, k, Failure{Video: m.Video, Deliveries: n,
			Error: fmt.Sprintf("queued for the sink %s, but this worker's config writes to %s: give each pipeline its own --stream, or run the workers with the enqueue's config", m.Sink, w.q.o.Sink)}, true)
		return nil
	}
	if n > w.q.o.MaxDeliveries {
		// Every try so far ended without an answer: the worker holding it died
		// or was stopped. Keep the error a try recorded, if one did.
		w.terminate(msg, k, Failure{Video: m.Video, Deliveries: n - 1,
			Error: fmt.Sprintf("taken %d times and never finished: the worker holding it died or was stopped each time", n-1)}, false)
		return nil
	}
	w.Taken.Add(1)
	w.q.logger().Info("queue: took video", "video", m.Video, "delivery", n)
	l := &lease{w: w, msg: msg, m: m, key: k, n: n, stop: make(chan struct{})}
	l.confirmed.Store(asked.UnixNano())
	go l.beat()
	return l
}

// terminate records why a message is given up, then terminates it. With
// overwrite false, a failure already recorded for the video is kept.
func (w *Worker) terminate(msg jetstream.Msg, k string, f Failure, overwrite bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.At, f.Worker = time.Now().UTC(), w.host
	if k != "" {
		b, _ := json.Marshal(f)
		var err error
		if overwrite {
			_, err = w.q.failed.Put(ctx, k, b)
		} else if _, err = w.q.failed.Create(ctx, k, b); errors.Is(err, jetstream.ErrKeyExists) {
			err = nil
		}
		if err != nil {
			w.q.logger().Error("queue: recording a failure failed", "video", f.Video, "err", err)
		}
	}
	w.Terminated.Add(1)
	w.q.logger().Error("queue: video terminated", "video", f.Video, "deliveries", f.Deliveries, "err", f.Error)
	if err := msg.TermWithReason(truncate(f.Error, 200)); err != nil {
		w.q.logger().Error("queue: terminate failed", "video", f.Video, "err", err)
	}
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// lease is a video taken by this worker.
type lease struct {
	w    *Worker
	msg  jetstream.Msg
	m    Message
	key  string
	n    int // this delivery's number, from 1
	stop chan struct{}
	once sync.Once
	// confirmed is when (unix ns) the last heartbeat the server answered was
	// sent (at first, when the video was asked for): the server cannot have
	// given the video to another before confirmed + the ack wait.
	confirmed atomic.Int64
}

// lapsed tells whether the lease may have run out: no heartbeat was
// confirmed within the ack wait (less a tenth, for clocks and the time the
// answer takes), so the server may have given the video to another worker.
// The server takes acks and naks from any delivery of a message, so a lapsed
// lease must not nak or terminate it: that would act on the new holder's.
func (l *lease) lapsed() (time.Duration, bool) {
	since := time.Since(time.Unix(0, l.confirmed.Load()))
	return since, since >= l.w.ackWait-l.w.ackWait/10
}

func (l *lease) Video() ([]string, string) { return l.m.Dataset, l.m.Name }

// skipBeat, set by tests only, drops a lease's heartbeats (a worker cut off
// from the server).
var skipBeat func(*lease) bool

// beat tells the server the video is being worked on, so it is not
// redelivered while this worker is alive.
func (l *lease) beat() {
	t := time.NewTicker(l.w.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if skipBeat != nil && skipBeat(l) {
				continue
			}
			// Asked for an answer, so a lost heartbeat is known (see lapsed).
			sent := time.Now()
			if _, err := l.w.q.nc.Request(l.msg.Reply(), []byte("+WPI"), l.w.heartbeat); err != nil {
				l.w.q.logger().Warn("queue: heartbeat failed", "video", l.m.Video, "err", err)
			} else {
				l.confirmed.Store(sent.UnixNano())
			}
		}
	}
}

// Done acks, retries or terminates the message. It is core.Lease's.
func (l *lease) Done(o core.Outcome) {
	l.once.Do(func() { l.done(o) })
}

func (l *lease) done(o core.Outcome) {
	close(l.stop)
	w, log := l.w, l.w.q.logger()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if since, lapsed := l.lapsed(); lapsed && o.Err != nil || lapsed && o.Interrupted {
		// Another worker may hold it now: it settles it. If none does, the
		// server hands it out again after the ack wait.
		log.Warn("queue: no heartbeat confirmed within the ack wait, so another worker may hold the video; leaving it to that worker",
			"video", l.m.Video, "delivery", l.n, "since", since.Round(time.Millisecond).String(), "err", o.Err)
		w.Returned.Add(1)
		return
	}
	switch {
	case o.Interrupted:
		// Stopped before the end: give it back at once, for another worker.
		w.Returned.Add(1)
		if err := l.msg.Nak(); err != nil {
			log.Warn("queue: giving a video back failed; it comes back after the ack wait", "video", l.m.Video, "err", err)
		}
	case o.Err == nil:
		b, _ := json.Marshal(doneRecord{Video: l.m.Video, Written: o.Written, Skipped: o.Skipped, At: time.Now().UTC(), Worker: w.host})
		if _, err := w.q.done.Put(ctx, l.key, b); err != nil {
			log.Warn("queue: recording a done video failed", "video", l.m.Video, "err", err)
		}
		if err := w.q.failed.Delete(ctx, l.key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			log.Warn("queue: clearing an old failure failed", "video", l.m.Video, "err", err)
		}
		// Acked only now: every image of the video is committed in the sink.
		if err := l.msg.DoubleAck(ctx); err != nil {
			log.Warn("queue: ack failed; the video will come again and find its images in the sink", "video", l.m.Video, "err", err)
			return
		}
		w.Acked.Add(1)
	case o.Permanent || l.n >= w.q.o.MaxDeliveries:
		w.terminate(l.msg, l.key, Failure{Video: l.m.Video, Error: o.Err.Error(), Deliveries: l.n}, true)
	default:
		d := l.retryDelay()
		w.Retried.Add(1)
		log.Warn("queue: video failed; it will be tried again", "video", l.m.Video, "delivery", l.n, "of", w.q.o.MaxDeliveries, "in", d.String(), "err", o.Err)
		if err := l.msg.NakWithDelay(d); err != nil {
			log.Warn("queue: nak failed; it comes back after the ack wait", "video", l.m.Video, "err", err)
		}
	}
}

// retryDelay doubles from RetryDelay with each delivery, up to 10 minutes.
func (l *lease) retryDelay() time.Duration {
	d := l.w.q.o.RetryDelay
	for i := 1; i < l.n && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}
