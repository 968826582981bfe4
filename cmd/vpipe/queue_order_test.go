package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpipe/vpipe/internal/natstest"
	"github.com/vpipe/vpipe/internal/testcorpus"
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
