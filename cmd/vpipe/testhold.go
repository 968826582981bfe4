package main

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/vpipe/vpipe/core"
)

// testHoldEnv is for vpipe's own tests only (not a user setting): set to a
// file's path, a run holds after its first image is written until that file
// exists, so that a test can start a second process while the first is
// surely writing (TestSecondRunRefused), or interrupt one that surely has
// not finished (TestContentRulesInterrupted). run, frames and worker read it.
const testHoldEnv = "VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE"

// holdForTest wraps sink as testHoldEnv asks; without it, sink is returned.
// A batching sink (Supervisely) is never held: it stores images with its
// Features' Batch, never with Put. The wrapper passes the sink's Features on
// (admission among them).
func holdForTest(sink core.Sink) core.Sink {
	until := os.Getenv(testHoldEnv)
	if until == "" || sink.Features().Batch != nil {
		return sink
	}
	return &holdSink{Sink: sink, until: until}
}

type holdSink struct {
	core.Sink
	until string
	once  sync.Once
}

// Put stores the image; after the first one it waits for the file (or the
// run's end).
func (h *holdSink) Put(ctx context.Context, img *core.Image) error {
	err := h.Sink.Put(ctx, img)
	h.once.Do(func() {
		for {
			if _, serr := os.Stat(h.until); serr == nil || ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return err
}
