package s3e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// A sink server that stops answering mid-run ends the run within about one
// retry budget: once a call got no answer on all its attempts, the later calls
// fail at once (no more attempts reach the server), the run stops starting
// videos, names the server, rolls back what it can (reporting what it could
// not) and exits 1; the videos it never reached are reported as not started.
func TestDeadSinkStopsRun(t *testing.T) {
	bucket := srv.Bucket(t)
	long := longVideo(t)
	in := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		b, err := os.ReadFile(long)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, n+".mp4"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	var frozen atomic.Bool
	p.Rule = func(*http.Request) s3test.Fault {
		if frozen.Load() {
			return s3test.Freeze
		}
		return s3test.Pass
	}
	const attempts = 2
	cfg := config(t, localSrc(in), s3Sink("s3://"+bucket+"/o", p.URL))
	cmd := exec.Command(bin, "run", cfg, "--set", "sampling.step=1", "--set", "stages.write.workers=1",
		"--set", "stages.decode.workers=1", "--set", "sink.timeout_s=1", "--set", "sink.max_attempts=2")
	cmd.Dir = root
	cmd.Env = env()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(3 * time.Minute) // a hang guard, not a timing assertion
	for n := 0; n < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("no 20 images stored in time:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
		n = 0
		for _, k := range srv.Keys(t, bucket, "o/") {
			if strings.Contains(k, "/img/") {
				n++
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("the run ended before the server was frozen: %v\n%s", err, log.String())
		default:
		}
	}
	frozen.Store(true)
	var err error
	select {
	case err = <-exited:
	case <-time.After(10 * time.Minute): // a hang guard, not a timing assertion
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the run did not end (%d requests got no answer):\n%s", p.Frozen(), log.String())
	}
	out := log.String()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out)
	}
	for _, w := range []string{"stopped answering", p.URL, "s3://" + bucket + "/o", "roll-back failed", "not started"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	// One call in flight per stage that calls the sink (the write worker and
	// the decode worker's listing), each paying its attempts once: after that
	// nothing more reaches the server.
	if n := p.Frozen(); n > 2*attempts {
		t.Errorf("%d requests reached the frozen server, want at most %d (one retry budget per call in flight):\n%s", n, 2*attempts, out)
	}
	t.Logf("%d requests reached the frozen server:\n%s", p.Frozen(), out)
}
