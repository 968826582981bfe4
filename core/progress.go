package core

import (
	"context"
	"io"
	"sync/atomic"
)

type progressKey struct{}

// WithProgress gives a Fetch a counter to bump while it works before the
// video can be opened (a download to a temporary file), so the stall
// watchdog (stages/stall.go) sees it progress.
func WithProgress(ctx context.Context, n *atomic.Int64) context.Context {
	if n == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, n)
}

// ProgressWriter wraps w to count its writes on ctx's progress counter; w
// itself without one.
func ProgressWriter(ctx context.Context, w io.Writer) io.Writer {
	n, _ := ctx.Value(progressKey{}).(*atomic.Int64)
	if n == nil {
		return w
	}
	return &countingWriter{w: w, n: n}
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	if k > 0 {
		c.n.Add(1)
	}
	return k, err
}
