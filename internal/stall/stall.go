// Package stall gives up an HTTP attempt that makes no progress: nothing of
// its body taken, no byte of it acknowledged by the server's TCP stack (on
// Linux), no byte of the answer read while someone reads it. A slow transfer
// that keeps moving is never cut, however long it takes. The object stores'
// clients (S3, GCS, Azure) all send through it, so they stall alike.
package stall

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Error is an attempt given up because it made no progress for For. It is
// a timeout, so each SDK's retryer tries again (Temporary for GCS and the
// Azure retry reader, RetryableError for AWS), unless the call was allowed
// one attempt only (OnlyAttempt).
type Error struct {
	For time.Duration
	// Stalled is how many of the call's attempts got no answer, when the
	// caller counts them (WithCount) and sets it as the call ends; 0 for a
	// body read.
	Stalled int
	// Single: this attempt was the call's only one (OnlyAttempt).
	Single bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("no answer: nothing sent or received for %s", e.For)
}

// Timeout and Temporary make it a net.Error, which retryers and the Azure
// retry reader (resuming a body) try again after; RetryableError tells the
// AWS retryer the same, unless the call has only this attempt.
func (e *Error) Timeout() bool        { return true }
func (e *Error) Temporary() bool      { return true }
func (e *Error) RetryableError() bool { return !e.Single }

// Unreachable tells the run the server is gone (see core.Unreachable): a
// call gives up with an Error only when its last attempt got no answer.
func (e *Error) Unreachable() bool { return true }

// Count counts a call's attempts that got no answer.
type Count struct{ n atomic.Int32 }

// N is how many attempts stalled so far.
func (c *Count) N() int { return int(c.n.Load()) }

type countKey struct{}

// WithCount returns ctx under which every stalled attempt adds one to c.
func WithCount(ctx context.Context, c *Count) context.Context {
	return context.WithValue(ctx, countKey{}, c)
}

type singleKey struct{}

// OnlyAttempt marks ctx: the call gets this one attempt (a breaker is
// open), so its Error does not ask the retryer for another.
func OnlyAttempt(ctx context.Context) context.Context {
	return context.WithValue(ctx, singleKey{}, true)
}

func isSingle(ctx context.Context) bool { return ctx.Value(singleKey{}) != nil }

// Doer sends a request: an http.Client, the AWS SDK's HTTPClient, the
// Azure SDK's policy.Transporter.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Client watches every attempt next sends for progress, giving one up
// after d without any; d <= 0 watches nothing.
func Client(next Doer, d time.Duration) Doer {
	if d <= 0 {
		return next
	}
	return client{send: next.Do, d: d}
}

// Transport is Client for a RoundTripper (the base a GCS client's auth
// wraps).
func Transport(next http.RoundTripper, d time.Duration) http.RoundTripper {
	if d <= 0 {
		return next
	}
	return client{send: next.RoundTrip, d: d}
}

// client is both Client's Doer and Transport's RoundTripper.
type client struct {
	send func(*http.Request) (*http.Response, error)
	d    time.Duration
}

func (c client) RoundTrip(req *http.Request) (*http.Response, error) { return c.Do(req) }

func (c client) Do(req *http.Request) (*http.Response, error) {
	w, req := watchRequest(req, c.d)
	resp, err := c.send(req)
	if err != nil {
		w.stop()
		if w.fired.Load() {
			if n, ok := req.Context().Value(countKey{}).(*Count); ok {
				n.n.Add(1)
			}
			return resp, &Error{For: c.d, Single: isSingle(req.Context())}
		}
		return resp, err
	}
	w.idle.Store(true) // the answer's body counts only while read
	resp.Body = &progressBody{ReadCloser: resp.Body, w: w, answer: true}
	return resp, nil
}
