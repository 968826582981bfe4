package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/progress"
)

// slowSink stores each image after a pause: a sink that cannot keep up.
type slowSink struct {
	core.Sink
	d time.Duration
}

func (s slowSink) Put(ctx context.Context, img *core.Image) error {
	time.Sleep(s.d)
	return s.Sink.Put(ctx, img)
}

// TestBottleneckSinkBound: a run held back by its sink names the write stage.
// (A pause of 30 ms an image against well under a millisecond of decoding and
// encoding a 64x36 frame: a relative comparison, not a timing bound.)
func TestBottleneckSinkBound(t *testing.T) {
	video := testcorpus.Path(t, testcorpus.Get("h264_bframes"))
	src, out := t.TempDir(), t.TempDir()
	data, err := os.ReadFile(video)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "clip.mp4"), data, 0o644)
	yaml := filepath.Join(t.TempDir(), "pipeline.yaml")
	os.WriteFile(yaml, []byte("source:\n  type: local\nsink:\n  type: local\n"), 0o644)
	c, err := config.Load(yaml, []string{"source.path=" + src, "sink.path=" + out, "sampling.end=20",
		"sampling.resize.width=64", "stages.write.workers=1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	source, sink, err := backends(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuf
	lf := logFlags{format: "text", interval: progress.DefaultInterval}
	if err := execute(context.Background(), c, source, slowSink{Sink: sink, d: 30 * time.Millisecond}, nil, &log, lf); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "held back by stage write: its 1 worker(s)") {
		t.Fatalf("the sink-bound run does not name write:\n%s", log.String())
	}
}
