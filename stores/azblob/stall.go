package azblob

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// StallError is an attempt given up because it made no progress for For:
// nothing of its body taken, no byte of the answer read while it was being
// read. The SDK's retry policy tries again (it is not a cancel of the call).
type StallError struct{ For time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("no answer: nothing sent or received for %s", e.For)
}

// Timeout and Temporary make it a net.Error, which the SDK's retry reader
// resumes a body after.
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return true }

// Unreachable tells the run the server is gone (see core.Unreachable): a call
// fails with a StallError only when its last attempt got no answer.
func (e *StallError) Unreachable() bool { return true }

// stallClient gives up an attempt that makes no progress for d, and only
// then: a slow upload or download that keeps moving is never cut, however
// long it takes. An answer's body counts only while someone reads it (a
// ranged reader's caller has its own timeout).
type stallClient struct {
	next policy.Transporter
	d    time.Duration
}

func (c stallClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{d: c.d, cancel: cancel}
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &progressBody{ReadCloser: req.Body, w: w}
	}
	w.t = time.AfterFunc(c.d, w.check)
	resp, err := c.next.Do(req)
	if err != nil {
		w.stop()
		if w.fired.Load() {
			return resp, &StallError{For: c.d}
		}
		return resp, err
	}
	w.idle.Store(true)
	resp.Body = &progressBody{ReadCloser: resp.Body, w: w, answer: true}
	return resp, nil
}

// watch checks every d that something moved since the last check, and
// cancels the attempt when nothing did.
type watch struct {
	d       time.Duration
	cancel  context.CancelFunc
	t       *time.Timer
	moves   atomic.Int64 // body reads begun and ended with bytes
	reading atomic.Int32 // answer reads in progress
	idle    atomic.Bool  // the answer is out and nobody reads it
	fired   atomic.Bool
	mu      sync.Mutex
	last    int64
	stopped bool
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
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		w.t.Stop()
	}
	w.cancel()
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
