package stall

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// watchRequest starts the watch of one attempt: req under a context the
// watch cancels, its body (and any copy GetBody makes for a resend) counted,
// its connection noted for the TCP ack check.
func watchRequest(req *http.Request, d time.Duration) (*watch, *http.Request) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{d: d, cancel: cancel}
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
	return w, req
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
		return n, &Error{For: b.w.d}
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
