package stages

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vpipe/vpipe/core"
)

// ErrStalled is the error of a leased video given up by the stall watchdog.
type ErrStalled struct{ For time.Duration }

func (e *ErrStalled) Error() string { return fmt.Sprintf("stalled: no progress for %s", e.For) }

// watchStall starts the stall watchdog of a leased video as the decode stage
// takes it, and returns the video's own context. Progress is counted from
// that moment (time spent queued behind other videos is not a stall): every
// packet read from the container (the map and the decode), frame decoded and
// frame out of the pipeline (written, or dropped) counts. When the count does
// not move for r.StallTimeout, the watchdog records the stall as the video's
// error, cancels the video's context (what reads through Go, e.g. an S3 or
// Supervisely download, returns at once) and settles its lease as a failed
// try: the heartbeats stop and the feed retries it later or, past its tries,
// gives it up. A read blocked inside FFmpeg itself (a local path, a URL FFmpeg
// opens) does not see the context: its decode worker stays blocked until the
// read returns, but the video is no longer held. Without a lease or a
// timeout the context is ctx.
func (r *Runner) watchStall(ctx context.Context, j *job) context.Context {
	if j.lease == nil || r.StallTimeout <= 0 {
		return ctx
	}
	vctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	var once sync.Once
	j.unwatch = func() { once.Do(func() { close(stop) }) }
	d := r.StallTimeout
	tick := max(d/8, 10*time.Millisecond)
	go func() {
		defer cancel()
		t := time.NewTicker(tick)
		defer t.Stop()
		last, since := j.progress.Load(), time.Now()
		for {
			select {
			case <-stop:
				return
			case <-vctx.Done():
				return
			case now := <-t.C:
				if n := j.progress.Load(); n != last {
					last, since = n, now
					continue
				}
				if now.Sub(since) < d {
					continue
				}
				err := &ErrStalled{For: d}
				j.fail(err)
				cancel()
				j.mu.Lock()
				o := core.Outcome{Err: err, Written: j.written}
				j.mu.Unlock()
				if r.Log != nil {
					r.Log.Error("video stalled: giving it up", "video", j.item.ID(), "err", err)
				}
				j.leaseDone(o)
				return
			}
		}
	}()
	return vctx
}
