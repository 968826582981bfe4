package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/natstest"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// lockedBuffer is a process's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type proc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	code int
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = "../.."
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) wait(t *testing.T, what string) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute): // a hang, not a timing assertion
		p.cmd.Process.Kill()
		t.Fatalf("%s did not exit:\n%s", what, p.out.String())
	}
	return p.out.String()
}

// images counts the complete images of a dataset folder.
func imagesIn(dir string) int {
	e, _ := os.ReadDir(dir)
	n := 0
	for _, f := range e {
		if !strings.HasPrefix(f.Name(), ".vpipe-tmp-") {
			n++
		}
	}
	return n
}

// longVideo is 200 frames at 320x180: long enough to be killed in the middle of.
var longVideo = testcorpus.Video{Name: "queue_long", File: "long.mp4", Frames: 200, Exact: true, Steps: [][]string{{
	"-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=8", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "{out}"}}}

// The acceptance of the work queue: enqueue, two workers, one SIGKILLed in the
// middle of a video, a third started; when all exit the tree equals one plain
// run's, with no temporary file, and the killed video was resumed from the
// images it had, not written again. A video that always fails is terminated
// after the delivery limit and listed with its error by queue status, while
// the others complete. Enqueueing again adds nothing, and a worker then writes
// nothing; queued again beyond the duplicate window (a fresh stream), the
// worker finds every image in the sink and writes nothing either.
func TestQueueWorkers(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, testcorpus.ManyVideos...)
	testcorpus.Folder(t, src, longVideo, "a/long.mp4")
	if err := os.WriteFile(filepath.Join(src, "a", "bad.mp4"), []byte("not a video at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	const total = 9*10 + 200
	out := t.TempDir()
	sets := func(sink string) []string {
		return []string{"pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + sink, "--set", "sampling.step=1",
			"--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1"}
	}
	worker := func(stream string) []string {
		return append(append([]string{"worker"}, sets(out)...), "--nats", ns.URL, "--stream", stream, "--until-empty",
			"--max-deliveries", "2", "--retry-delay", "100ms")
	}
	plain := t.TempDir()
	if log, code := vpipe(t, append([]string{"run"}, sets(plain)...)...); code != 1 || !strings.Contains(log, "FAILED a/bad.mp4") ||
		summaryWritten(t, log) != total {
		t.Fatalf("plain run (the bad video fails it): exit %d\n%s", code, log)
	}

	enq := func(stream string) string {
		t.Helper()
		log, code := vpipe(t, append(append([]string{"enqueue"}, sets(out)...), "--nats", ns.URL, "--stream", stream, "--ack-wait", "2s")...)
		if code != 0 {
			t.Fatalf("enqueue: exit %d\n%s", code, log)
		}
		return log
	}
	if log := enq("Q"); !strings.Contains(log, "enqueued 11 videos") || !strings.Contains(log, "11 new, 0 already queued") {
		t.Fatalf("enqueue:\n%s", log)
	}
	a, b := start(t, worker("Q")...), start(t, worker("Q")...)
	long := filepath.Join(out, "a/datasets/long.mp4/img")
	var victim, other *proc
	for victim == nil {
		for _, p := range []*proc{a, b} {
			if strings.Contains(p.out.String(), `"queue: took video" video=a/long.mp4`) {
				victim, other = p, map[*proc]*proc{a: b, b: a}[p]
			}
		}
		select {
		case <-a.done:
			t.Fatalf("worker exited before anyone took the long video:\n%s", a.out.String())
		case <-b.done:
			t.Fatalf("worker exited before anyone took the long video:\n%s", b.out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	for imagesIn(long) < 10 {
		select {
		case <-victim.done:
			t.Fatalf("the worker with the long video exited:\n%s", victim.out.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	k := imagesIn(long)
	if k >= 200 {
		t.Fatalf("the long video was finished before the kill (%d images); the test needs a kill in the middle", k)
	}
	t.Logf("killed a worker with %d of the long video's 200 images written", k)
	c := start(t, worker("Q")...)
	logs := other.wait(t, "surviving worker") + c.wait(t, "third worker")
	if other.code != 0 || c.code != 0 {
		t.Fatalf("workers exited %d and %d:\n%s", other.code, c.code, logs)
	}
	if want := fmt.Sprintf("msg=video video=a/long.mp4 frames=%d already_there=%d", 200-k, k); !strings.Contains(logs, want) {
		t.Fatalf("the long video was not resumed from its %d images (want %q):\n%s", k, want, logs)
	}
	got := tree(t, out)
	for _, f := range keys(got) {
		if strings.Contains(f, ".vpipe-tmp-") {
			t.Errorf("temporary file left: %s", f)
		}
	}
	if want := tree(t, plain); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the workers' tree differs from a plain run's: %d files, want %d", len(got), len(want))
	}

	st, code := vpipe(t, "queue", "status", "--nats", ns.URL, "--stream", "Q")
	if code != 0 || !strings.Contains(st, "pending:   0") || !strings.Contains(st, "in flight: 0") || !strings.Contains(st, "done:      10") ||
		!strings.Contains(st, "failed:    1") || !regexpLine(st, `FAILED a/bad.mp4 \(2 deliveries, .*\): .*bad\.mp4.*`) {
		t.Fatalf("queue status: exit %d\n%s", code, st)
	}
	t.Logf("queue status:\n%s", st)

	// Enqueued again within the duplicate window: nothing is added or written.
	if log := enq("Q"); !strings.Contains(log, "0 new, 11 already queued") {
		t.Fatalf("enqueue again:\n%s", log)
	}
	again := start(t, worker("Q")...).wait(t, "worker after enqueueing again")
	if !strings.Contains(again, "queue: 0 taken") || summaryWritten(t, again) != 0 {
		t.Fatalf("worker after enqueueing again:\n%s", again)
	}
	// Queued again where no duplicate window remembers it: each video is taken
	// again and its images are all found in the sink.
	if log := enq("AFTER"); !strings.Contains(log, "11 new") {
		t.Fatalf("enqueue to a fresh stream:\n%s", log)
	}
	p := start(t, worker("AFTER")...)
	again = p.wait(t, "worker on the fresh stream")
	if p.code != 0 || summaryWritten(t, again) != 0 || !strings.Contains(again, fmt.Sprintf("0 written, %d skipped", total)) || !strings.Contains(again, "10 acked") {
		t.Fatalf("worker on the fresh stream: exit %d\n%s", p.code, again)
	}
	if fmt.Sprint(tree(t, out)) != fmt.Sprint(got) {
		t.Fatal("a worker with nothing to do changed the tree")
	}
}

// SIGTERM (a rollout, a scale-down) makes a worker give its video back at
// once: the next worker takes it without waiting for the ack wait (10 minutes
// here, so a worker that did not give it back would hang this test) and
// resumes from the images already written.
func TestWorkerSIGTERMGivesBack(t *testing.T) {
	_, args, out := longVideoQueue(t)
	if log, code := vpipe(t, args("enqueue", "--ack-wait", "10m")...); code != 0 {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	a := start(t, args("worker")...)
	long := filepath.Join(out, "a/datasets/long.mp4/img")
	for imagesIn(long) < 10 {
		select {
		case <-a.done:
			t.Fatalf("worker exited:\n%s", a.out.String())
		case <-time.After(2 * time.Millisecond):
		}
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	log := a.wait(t, "worker stopped by SIGTERM")
	k := imagesIn(long)
	if a.code != 143 || !strings.Contains(log, "1 given back") || k >= 200 {
		t.Fatalf("SIGTERM: exit %d, %d images\n%s", a.code, k, log)
	}
	b := start(t, args("worker", "--until-empty")...)
	log = b.wait(t, "next worker (hangs if the video was not given back)")
	if b.code != 0 || !strings.Contains(log, fmt.Sprintf("frames=%d already_there=%d", 200-k, k)) || !strings.Contains(log, "delivery=2") {
		t.Fatalf("next worker: exit %d\n%s", b.code, log)
	}
	if n := imagesIn(long); n != 200 {
		t.Fatalf("%d images", n)
	}
}

// A queued video the worker's source does not list (removed since, or queued
// with another config) is terminated at its first delivery, listed with why.
func TestQueuedVideoNotInSource(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/gone.mp4")
	out := t.TempDir() // one sink: a worker refuses videos queued for another
	args := func(cmd string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--nats", ns.URL}, extra...)
	}
	if log, code := vpipe(t, args("enqueue")...); code != 0 || !strings.Contains(log, "2 new") {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	os.Remove(filepath.Join(src, "a", "gone.mp4"))
	log, code := vpipe(t, args("worker", "--until-empty")...)
	if code != 0 || !strings.Contains(log, "1 acked") || !strings.Contains(log, "1 terminated") {
		t.Fatalf("worker: exit %d\n%s", code, log)
	}
	st, _ := vpipe(t, "queue", "status", "--nats", ns.URL)
	if !regexpLine(st, `FAILED a/gone.mp4 \(1 deliveries, .*\): a/gone.mp4: not in the source local .*`) || !strings.Contains(st, "done:      1") {
		t.Fatalf("queue status:\n%s", st)
	}
	js, code := vpipe(t, "queue", "status", "--nats", ns.URL, "--json")
	var got struct {
		Stream   string
		Pending  int
		InFlight int `json:"in_flight"`
		Done     int
		Failed   []struct {
			Video, Error string
			Deliveries   int
		}
	}
	if err := json.Unmarshal([]byte(js), &got); err != nil || code != 0 || got.Stream != "VPIPE" || got.Done != 1 || got.Pending != 0 ||
		len(got.Failed) != 1 || got.Failed[0].Video != "a/gone.mp4" || got.Failed[0].Deliveries != 1 || !strings.Contains(got.Failed[0].Error, "not in the source") {
		t.Fatalf("queue status --json: exit %d, %v\n%s", code, err, js)
	}
}

// A negative --stall-timeout is refused before anything is opened.
func TestWorkerStallTimeoutRefused(t *testing.T) {
	log, code := vpipe(t, "worker", "pipeline.yaml", "--nats", "nats://127.0.0.1:1", "--stall-timeout", "-1s")
	if code != 2 || !strings.Contains(log, "--stall-timeout -1s: must be 0 (off) or more") {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// longVideoQueue starts a nats-server (stopped at the test's end) for a queue
// of one long video encoded slowly (a worker is observably mid-video for
// seconds), and gives the command lines of enqueue and worker for it and the
// sink's folder.
func longVideoQueue(t *testing.T) (*natstest.Server, func(cmd string, extra ...string) []string, string) {
	t.Helper()
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Stop)
	src := testcorpus.Folder(t, t.TempDir(), longVideo, "a/long.mp4")
	out := t.TempDir()
	args := func(cmd string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--set", "sampling.step=1",
			"--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1", "--nats", ns.URL}, extra...)
	}
	return ns, args, out
}

// A worker's summary counts videos, not tries: a bad video the queue delivers
// three times is one failed video with one FAILED line (its last try's
// error). Waiting on the queue is not work: the summary never names the
// enumerate stage (the one that waits) as what held the run back.
func TestWorkerSummaryCountsVideos(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/good.mp4")
	if err := os.WriteFile(filepath.Join(src, "a", "bad.mp4"), []byte("not a video at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := func(cmd string, extra ...string) []string {
		return append([]string{cmd, "pipeline.yaml", "--set", "source.path=" + src, "--set", "sink.path=" + out, "--nats", ns.URL}, extra...)
	}
	if log, code := vpipe(t, args("enqueue")...); code != 0 || !strings.Contains(log, "2 new") {
		t.Fatalf("enqueue: exit %d\n%s", code, log)
	}
	log, code := vpipe(t, args("worker", "--until-empty", "--max-deliveries", "3", "--retry-delay", "50ms")...)
	if code != 0 || !strings.Contains(log, "4 taken, 1 acked, 2 to try again, 0 given back, 1 terminated") {
		t.Fatalf("worker: exit %d\n%s", code, log)
	}
	if !strings.Contains(log, "videos: 1 ok, 1 failed;") || strings.Count(log, "FAILED a/bad.mp4") != 1 {
		t.Fatalf("want one video ok, one failed, one FAILED line:\n%s", log)
	}
	if strings.Contains(log, "held back by stage enumerate") {
		t.Fatalf("the wait on the queue is counted as the enumerate stage's work:\n%s", log)
	}
}
