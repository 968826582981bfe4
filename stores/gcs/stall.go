package gcs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// StallError is an attempt given up because it made no progress for For:
// nothing of its body taken by the connection, no byte of the answer read.
// The client's retryer tries again (it is Temporary); a call whose last
// attempt ended so tells the run the server is gone (Unreachable).
type StallError struct{ For time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("no answer: nothing sent or received for %s", e.For)
}

func (e *StallError) Timeout() bool     { return true }
func (e *StallError) Temporary() bool   { return true }
func (e *StallError) Unreachable() bool { return true }

// stallTransport gives up an attempt that makes no progress for d, and only
// then: a slow transfer that keeps moving is never cut, however long it
// takes. An answer's body counts only while someone reads it. (The S3
// client, internal/s3conn, also counts the bytes the server's TCP stack
// acknowledged; here a body waiting whole in the kernel's send buffer for
// longer than d, on a link slower than that buffer over d, is cut and sent
// again.)
type stallTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.d <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{d: t.d, cancel: cancel}
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
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		w.stop()
		if w.fired.Load() {
			return nil, &StallError{For: t.d}
		}
		return nil, err
	}
	w.idle.Store(true)
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
	last     int64
	t        *time.Timer
	stopped  bool
	stopOnce sync.Once
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
