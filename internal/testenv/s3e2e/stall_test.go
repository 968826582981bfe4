package s3e2e

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/natstest"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// A queued video whose S3 body stalls forever (headers sent, then no byte,
// the connection held open) is given up by the worker's stall watchdog on
// every try: its read is cancelled, the try fails with "stalled: no progress
// for 2s", and after --max-deliveries it is terminated with that error. The
// other videos are done, and the worker exits with --until-empty (its stalled
// reads returned: the pipeline drained).
func TestWorkerStallWatchdog(t *testing.T) {
	ns, err := natstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Stop()
	bucket := srv.Bucket(t)
	srv.Upload(t, filepath.Join(root, "testdata/videos"), bucket, "in")
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/traffic.mp4") {
			return s3test.Stall
		}
		return s3test.Pass
	}
	out := t.TempDir()
	cfg := config(t, s3Src("s3://"+bucket+"/in", p.URL), localSink(out))
	q := []string{"--nats", ns.URL}
	if log := mustRun(t, append([]string{"enqueue", cfg, "--ack-wait", "3s"}, q...)...); !strings.Contains(log, "3 new") {
		t.Fatalf("enqueue:\n%s", log)
	}
	cmd := exec.Command(bin, append([]string{"worker", cfg, "--until-empty", "--stall-timeout", "2s", "--max-deliveries", "2", "--retry-delay", "200ms"}, q...)...)
	cmd.Dir, cmd.Env = root, env()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker: %v\n%s", err, log.String())
		}
	case <-time.After(2 * time.Minute): // a hang, not a timing assertion
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the worker did not exit:\n%s", log.String())
	}
	if s := log.String(); !strings.Contains(s, "2 acked, 1 to try again") || !strings.Contains(s, "1 terminated") ||
		strings.Count(s, "video stalled: giving it up") != 2 {
		t.Fatalf("worker:\n%s", s)
	}
	st := mustRun(t, append([]string{"queue", "status"}, q...)...)
	if !regexp.MustCompile(`FAILED ds0/traffic.mp4 \(2 deliveries, .*\): stalled: no progress for 2s`).MatchString(st) ||
		!strings.Contains(st, "done:      2") || !strings.Contains(st, "in flight: 0") {
		t.Fatalf("queue status:\n%s", st)
	}
	if n := p.Released(); n < 2 {
		t.Fatalf("%d stalled reads were given up by the worker, want one a try (2)", n)
	}
	t.Logf("worker:\n%s", log.String())
	if n := images(localTree(t, out)); n == 0 {
		t.Fatal("the other videos wrote no image")
	}
}
