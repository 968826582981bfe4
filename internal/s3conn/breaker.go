package s3conn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vpipe/vpipe/internal/stall"
)

// DefaultCooldown is Options.Cooldown's default.
const DefaultCooldown = time.Minute

// DownError is a call not made because its server stopped answering: an
// earlier call got no answer on its last attempt, and no call has been
// answered since.
type DownError struct {
	Server string    // the endpoint, or AWS S3
	At     time.Time // when the call that got no answer gave up
	Call   string    // that call's operation
	Next   time.Time // a call after this is tried (once) again
}

func (e *DownError) Error() string {
	return fmt.Sprintf("not sent: %s stopped answering at %s (%s got no answer on its last attempt); no call is sent to it before %s, then one attempt a call until one is answered",
		e.Server, e.At.Format("15:04:05 MST"), e.Call, e.Next.Format("15:04:05 MST"))
}

// Unreachable tells the run the server is gone (see core.Unreachable).
func (e *DownError) Unreachable() bool { return true }

// breaker stops sending calls to a server that stopped answering. Closed, a
// call is made with the whole retry budget. Once a call gives up on an
// attempt that got no answer, it opens: calls fail at once with a DownError
// for the cool-down, then each gets a single attempt, until one is answered
// (which closes it) or stalls (which opens it for another cool-down).
type breaker struct {
	server string
	cool   time.Duration

	mu   sync.Mutex
	at   time.Time // zero: closed
	call string
	next time.Time
}

// add puts the breaker first in a client's stack, around the retries.
func (b *breaker) add(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("vpipeBreaker", b.handle), middleware.Before)
}

func (b *breaker) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	open, err := b.admit()
	if err != nil {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	stalls := new(stall.Count)
	ctx = stall.WithCount(ctx, stalls)
	if open {
		ctx = stall.OnlyAttempt(ctx)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	var se *stall.Error
	if errors.As(err, &se) {
		se.Stalled = stalls.N()
	}
	b.record(middleware.GetOperationName(ctx), err)
	return out, md, err
}

// admit tells whether the breaker is open (the call gets one attempt), or
// returns the DownError of a call not to be made.
func (b *breaker) admit() (open bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.at.IsZero() {
		return false, nil
	}
	if time.Now().Before(b.next) {
		return true, &DownError{Server: b.server, At: b.at, Call: b.call, Next: b.next}
	}
	return true, nil
}

// record opens the breaker on a call whose last attempt got no answer and
// closes it on a call the server answered (even with an error).
func (b *breaker) record(call string, err error) {
	var se *stall.Error
	var re *smithyhttp.ResponseError
	var ae smithy.APIError
	answered := err == nil || errors.As(err, &re) || errors.As(err, &ae)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case errors.As(err, &se):
		if b.at.IsZero() {
			b.at, b.call = time.Now(), call
		}
		b.next = time.Now().Add(b.cool)
	case answered:
		b.at = time.Time{}
	}
}
