package core

import (
	"context"
	"errors"
)

// Feed hands a run (stages.Runner) its videos one at a time, as a work queue does, instead of
// every video of the source. The run asks for the next video only when a
// decode worker is free, so it holds at most one video per decode worker that
// it has not finished decoding.
type Feed interface {
	// Next blocks until there is a video to sample. ok false means none is
	// left: the run ends once the videos it holds are finished. An error stops
	// the run.
	Next(ctx context.Context) (lease Lease, ok bool, err error)
}

// Lease is a video taken from a feed.
type Lease interface {
	// Video names the video in the source: its dataset path and file name.
	Video() (dataset []string, name string)
	// Done is told, exactly once, how the video ended. A nil Err and not
	// Interrupted means every image of the video is committed in the sink.
	Done(Outcome)
}

// Outcome is how a leased video ended.
type Outcome struct {
	// Err is why the video failed. The images it wrote stay (another worker
	// may hold the video too and count them; see stages.Runner.rollBack).
	Err error
	// Permanent tells that Err will be the same on every try (the video is
	// not in the source, or its destination clashes with another's).
	Permanent bool
	// Interrupted: the run stopped before the video was finished (its images
	// so far stay complete, and the next try resumes from them).
	Interrupted bool
	Written     int // images written by this try
	Skipped     int // images already in the sink
}

// ErrNotInSource is a leased video the source does not list.
var ErrNotInSource = errors.New("not in the source")
