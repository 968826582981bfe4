package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpipe/vpipe/internal/testenv/natstest"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// A worker started before the enqueue (kubectl apply of workers.yaml starts
// the Deployment and the enqueue Job at once) makes the stream and consumer
// with the defaults; the enqueue's explicit --ack-wait and --dedup-window
// must still take effect, not be dropped silently.
func TestEnqueueAfterWorkerSetsAckWait(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4")
	args := func(cmd string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + t.TempDir(), "--nats", ns.URL}, extra...)
	}
	if log, code := vpipe(t, args("worker", "--until-empty")...); code != 0 || !strings.Contains(log, "queue: 0 taken") {
		t.Fatalf("worker on an empty queue: exit %d\n%s", code, log)
	}
	if log, code := vpipe(t, args("enqueue", "--ack-wait", "7s", "--dedup-window", "1h")...); code != 0 || !strings.Contains(log, "1 new") {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	nc, err := nats.Connect(ns.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	s, err := js.Stream(ctx, "VPIPE")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Consumer(ctx, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.AckWait; got != 7*time.Second {
		t.Errorf("consumer's ack wait after enqueue --ack-wait 7s: %s", got)
	}
	if got := s.CachedInfo().Config.Duplicates; got != time.Hour {
		t.Errorf("stream's duplicate window after enqueue --dedup-window 1h: %s", got)
	}
}

// NATS restarting (crashed, its store kept) while a worker is in the middle
// of a video: the worker reconnects, its heartbeats and its ack go through
// after, the video is done once, and the queue ends empty.
func TestWorkerSurvivesNATSRestart(t *testing.T) {
	ns, args, out := longVideoQueue(t)
	if log, code := vpipe(t, args("enqueue", "--ack-wait", "20s")...); code != 0 {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	w := start(t, args("worker", "--until-empty")...)
	long := filepath.Join(out, "a/datasets/long.mp4/img")
	for imagesIn(long) < 10 {
		select {
		case <-w.done:
			t.Fatalf("worker exited:\n%s", w.out.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	ns.Crash()
	k := imagesIn(long)
	time.Sleep(500 * time.Millisecond) // an outage, not a timing assertion
	if err := ns.Restart(); err != nil {
		t.Fatal(err)
	}
	log := w.wait(t, "worker across a NATS restart")
	t.Logf("NATS went down with %d of the 200 images written", k)
	if w.code != 0 || !strings.Contains(log, "1 taken, 1 acked") || imagesIn(long) != 200 {
		t.Fatalf("worker: exit %d, %d images\n%s", w.code, imagesIn(long), log)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "queue:") {
			t.Log(l)
		}
	}
	// The outage is in the log: a WARN with the error when the connection
	// dropped, an INFO when it came back.
	if !regexpLine(log, `level=WARN msg="queue: NATS connection lost; reconnecting" .*err=`) ||
		!regexpLine(log, `level=INFO msg="queue: NATS reconnected" server=nats://127\.0\.0\.1:\d+`) {
		t.Fatalf("no disconnect and reconnect lines:\n%s", log)
	}
	st, code := vpipe(t, "queue", "status", "--nats", ns.URL)
	if code != 0 || !strings.Contains(st, "pending:   0") || !strings.Contains(st, "in flight: 0") || !strings.Contains(st, "done:      1") {
		t.Fatalf("queue status: exit %d\n%s", code, st)
	}
}

// A video terminated after its last try (here: missing from the source when
// it came) cannot be queued again by a plain enqueue within the duplicate
// window; enqueue --retry-failed queues the failed ones again (once per
// failure), and once the video succeeds it is no longer listed as failed.
func TestEnqueueRetryFailed(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/late.mp4")
	out := t.TempDir()
	args := func(cmd string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--nats", ns.URL}, extra...)
	}
	if log, code := vpipe(t, args("enqueue")...); code != 0 || !strings.Contains(log, "2 new") {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	late := filepath.Join(src, "a", "late.mp4")
	hidden := filepath.Join(t.TempDir(), "late.mp4")
	if err := os.Rename(late, hidden); err != nil {
		t.Fatal(err)
	}
	if log, code := vpipe(t, args("worker", "--until-empty")...); code != 0 || !strings.Contains(log, "1 terminated") {
		t.Fatalf("worker: exit %d\n%s", code, log)
	}
	if err := os.Rename(hidden, late); err != nil { // the video is back (fixed)
		t.Fatal(err)
	}
	if log, code := vpipe(t, args("enqueue")...); code != 0 || !strings.Contains(log, "0 new, 2 already queued") {
		t.Fatalf("enqueue again: exit %d\n%s", code, log)
	}
	for i, want := range []string{"0 new, 1 already queued, 1 failed queued again", "0 new, 2 already queued"} {
		if log, code := vpipe(t, args("enqueue", "--retry-failed")...); code != 0 || !strings.Contains(log, want) {
			t.Fatalf("enqueue --retry-failed (%d): exit %d, want %q\n%s", i+1, code, want, log)
		}
	}
	if log, code := vpipe(t, args("worker", "--until-empty")...); code != 0 || !strings.Contains(log, "1 taken, 1 acked") {
		t.Fatalf("worker after --retry-failed: exit %d\n%s", code, log)
	}
	if n, want := imagesIn(filepath.Join(out, "a/datasets/late.mp4/img")), imagesIn(filepath.Join(out, "a/datasets/v1.mp4/img")); n != want || n == 0 {
		t.Fatalf("the re-queued video has %d images, its twin %d", n, want)
	}
	st, code := vpipe(t, "queue", "status", "--nats", ns.URL)
	if code != 0 || !strings.Contains(st, "done:      2") || !strings.Contains(st, "failed:    0") || !strings.Contains(st, "pending:   0") {
		t.Fatalf("queue status: exit %d\n%s", code, st)
	}
}

// A worker whose config writes to another sink than the enqueue's (two
// pipelines sharing one stream) must not sample the video into its own sink
// and ack it: the video would never reach the sink it was queued for. It
// writes nothing, and the video is listed as failed naming both sinks.
func TestWorkerRefusesAnotherPipelinesVideo(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4")
	mine, theirs := t.TempDir(), t.TempDir()
	args := func(cmd, sink string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + sink, "--nats", ns.URL}, extra...)
	}
	if log, code := vpipe(t, args("enqueue", theirs)...); code != 0 || !strings.Contains(log, "1 new") {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	log, code := vpipe(t, args("worker", mine, "--until-empty")...)
	if code != 0 || !strings.Contains(log, "0 acked") || !strings.Contains(log, "1 terminated") {
		t.Fatalf("worker of another sink: exit %d\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(mine, "a")); err == nil {
		t.Fatal("the worker wrote into its own sink a video queued for another")
	}
	st, _ := vpipe(t, "queue", "status", "--nats", ns.URL)
	if !strings.Contains(st, "FAILED a/v1.mp4") || !strings.Contains(st, theirs) || !strings.Contains(st, mine) {
		t.Fatalf("queue status:\n%s", st)
	}
}
