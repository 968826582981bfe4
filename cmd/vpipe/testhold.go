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
// not finished (TestContentRulesInterrupted). run and frames read it.
const testHoldEnv = "VPIPE_TEST_HOLD_AFTER_FIRST_IMAGE"

// holdForTest wraps sink as testHoldEnv asks; without it, sink is returned.
// A batching sink (Supervisely) is never held.
func holdForTest(sink core.Sink) core.Sink {
	until := os.Getenv(testHoldEnv)
	if _, batching := sink.(core.BatchSink); until == "" || batching {
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

// SetWriter passes who this run is on to the sink (core.Admitting).
func (h *holdSink) SetWriter(w core.Writer) {
	if a, ok := h.Sink.(core.Admitting); ok {
		a.SetWriter(w)
	}
}
