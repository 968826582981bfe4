package s3conn

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// StallError is an attempt given up because it made no progress for For:
// nothing of its body taken, no byte of it acknowledged by the server's TCP
// stack, no byte of the answer read. The SDK's retryer retries it (it is a
// timeout).
type StallError struct {
	For time.Duration
	// Stalled is how many of the call's attempts got no answer (set when the
	// call ends; 0 for a body read).
	Stalled int
	// single: the breaker is open and this attempt is the call's only one.
	single bool
}

func (e *StallError) Error() string {
	return fmt.Sprintf("no answer: nothing sent or received for %s", e.For)
}

// Timeout and Temporary say it is a timeout; RetryableError makes the SDK's
// retryer try again, unless the breaker allows the call one attempt only.
func (e *StallError) Timeout() bool        { return true }
func (e *StallError) Temporary() bool      { return true }
func (e *StallError) RetryableError() bool { return !e.single }

// Unreachable tells the run the server is gone (see core.Unreachable): a
// call gives up with a StallError only when its last attempt got no answer.
func (e *StallError) Unreachable() bool { return true }

// stallCount counts a call's attempts that got no answer.
type stallCount struct{ n atomic.Int32 }

type stallKey struct{}

// HTTPClient is what the SDK sends requests with.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// stallClient gives up an attempt that makes no progress for d, and only
// then: a slow upload or download that keeps moving is never cut, however
// long it takes. A response body counts only while someone reads it.
type stallClient struct {
	next HTTPClient
	d    time.Duration
}

func (c stallClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{d: c.d, cancel: cancel}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { w.setConn(i.Conn) }})
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &progressBody{ReadCloser: req.Body, w: w}
		if gb := req.GetBody; gb != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := gb()
				if err != nil || b == http.NoBody {
					return b, err
				}
				return &progressBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	w.start()
	resp, err := c.next.Do(req)
	if err != nil {
		w.stop()
		if w.fired.Load() {
			if n, ok := req.Context().Value(stallKey{}).(*stallCount); ok {
				n.n.Add(1)
			}
			return resp, &StallError{For: c.d, single: isSingle(req.Context())}
		}
		return resp, err
	}
	w.idle.Store(true) // the body counts only while read
	resp.Body = &progressBody{ReadCloser: resp.Body, w: w, answer: true}
	return resp, nil
}

// watch checks every d that something moved since the last check, and
// cancels the attempt when nothing did.
type watch struct {
	d        time.Duration
	cancel   context.CancelFunc
	moves    atomic.Int64 // body reads begun and bytes moved
	reading  atomic.Int32 // answer reads in progress
	idle     atomic.Bool  // the answer is out and nobody reads it
	fired    atomic.Bool
	mu       sync.Mutex
	conn     net.Conn
	last     int64
	lastAck  uint64
	t        *time.Timer
	stopped  bool
	stopOnce sync.Once
}

func (w *watch) setConn(c net.Conn) {
	w.mu.Lock()
	w.conn = c
	w.mu.Unlock()
}

func (w *watch) start() {
	w.mu.Lock()
	w.t = time.AfterFunc(w.d, w.check)
	w.mu.Unlock()
}

func (w *watch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	moved := w.moves.Load() != w.last
	w.last = w.moves.Load()
	if ack, ok := acked(w.conn); ok && ack != w.lastAck {
		moved, w.lastAck = true, ack
	}
	if moved || (w.idle.Load() && w.reading.Load() == 0) {
		w.t.Reset(w.d)
		return
	}
	w.fired.Store(true)
	w.stopped = true
	w.cancel()
}

func (w *watch) stop() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.stopped = true
		if w.t != nil {
			w.t.Stop()
		}
		w.mu.Unlock()
		w.cancel()
	})
}

// progressBody counts a body's reads for its watch; the answer's body ends
// the watch when closed.
type progressBody struct {
	io.ReadCloser
	w      *watch
	answer bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	if b.answer {
		b.w.reading.Add(1)
		defer b.w.reading.Add(-1)
	}
	b.w.moves.Add(1)
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.moves.Add(1)
	}
	if err != nil && err != io.EOF && b.w.fired.Load() {
		return n, &StallError{For: b.w.d}
	}
	return n, err
}

func (b *progressBody) Close() error {
	err := b.ReadCloser.Close()
	if b.answer {
		b.w.stop()
	}
	return err
}
