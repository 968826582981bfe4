package s3e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// longVideo is 200 frames, enough for a run to be cut in its middle.
func longVideo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "long.mp4")
	if o, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=8",
		"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-pix_fmt", "yuv420p", p).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, o)
	}
	return p
}

// checkComplete: every listed image has its annotation and meta (no stray
// image), and every object is whole (its bytes equal the clean run's).
func checkPartial(t *testing.T, got, clean map[string][]byte) int {
	t.Helper()
	n := 0
	for k, b := range got {
		if c, ok := clean[k]; !ok || (!strings.HasSuffix(k, ".json") && !bytes.Equal(b, c)) {
			t.Errorf("%s: not an object of the clean run, or not whole (%d bytes)", k, len(b))
		}
		if strings.Contains(k, "/img/") {
			n++
			for _, sib := range []string{strings.Replace(k, "/img/", "/ann/", 1) + ".json", strings.Replace(k, "/img/", "/meta/", 1) + ".json"} {
				if _, ok := got[sib]; !ok {
					t.Errorf("%s is listed without %s", k, sib)
				}
			}
		}
	}
	return n
}

// A run to S3 interrupted by SIGINT, or killed by SIGKILL, then run again,
// ends with the tree of one clean run, and shows no partial object meanwhile.
func TestInterruptAndResumeS3(t *testing.T) {
	long := longVideo(t)
	set := []string{"--set", "sampling.step=1", "--set", "stages.encode.compression=9", "--set", "stages.encode.workers=1"}
	ref := t.TempDir()
	mustRun(t, append([]string{"run", config(t, localSrc(long), localSink(ref))}, set...)...)
	clean := localTree(t, ref)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			bucket := srv.Bucket(t)
			cfg := config(t, localSrc(long), s3Sink("s3://"+bucket+"/o", srv.Endpoint))
			cmd := exec.Command(bin, append([]string{"run", cfg}, set...)...)
			cmd.Dir, cmd.Env = root, env()
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) { // a hang guard, not a timing
				n := 0
				for _, k := range srv.Keys(t, bucket, "o/") {
					if strings.Contains(k, "/img/") {
						n++
					}
				}
				if n >= 20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("20 images never reached the bucket (%d did)\n%s", n, log.String())
				}
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if sig == syscall.SIGINT && (!ok || ee.ExitCode() != 130) {
				t.Fatalf("interrupted run: %v\n%s", err, log.String())
			}
			n := checkPartial(t, srv.Tree(t, bucket, "o"), clean)
			if n >= 200 {
				t.Fatalf("the run was not cut: %d images", n)
			}
			out := mustRun(t, append([]string{"run", cfg}, set...)...)
			if !strings.Contains(out, fmt.Sprintf("skipped")) {
				t.Fatalf("resume:\n%s", out)
			}
			sameTree(t, "resumed S3 tree", srv.Tree(t, bucket, "o"), clean)
			t.Logf("cut after %d images; resumed:\n%s", n, out)
		})
	}
}

// Under 503 SlowDown bursts and connections reset mid-upload, the run
// completes with the same tree.
func TestFaultsRetried(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/videos"), localSink(ref)))
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	var mu sync.Mutex
	n, faults := 0, map[s3test.Fault]int{}
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method != http.MethodPut {
			return s3test.Pass
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		f := s3test.Pass
		switch {
		case n%12 == 1 || n%12 == 2: // a burst of two
			f = s3test.SlowDown
		case n%17 == 0:
			f = s3test.Reset
		}
		faults[f]++
		return f
	}
	out := mustRun(t, "run", config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", p.URL)), "--stages")
	sameTree(t, "S3 tree under faults", srv.Tree(t, bucket, "o"), localTree(t, ref))
	if faults[s3test.SlowDown] == 0 || faults[s3test.Reset] == 0 {
		t.Fatalf("faults injected: %v", faults)
	}
	// every injected fault was retried, and counted (vpipe_retries_total{client="s3"})
	var retried int
	// the clients are listed by name: "retries azure 0, s3 N, supervisely 0"
	_, after, _ := strings.Cut(out, "retries ")
	_, after, _ = strings.Cut(after, "s3 ")
	if _, err := fmt.Sscanf(after, "%d", &retried); err != nil ||
		retried < faults[s3test.SlowDown]+faults[s3test.Reset] {
		t.Errorf("s3 retries counted: %d (%v), faults %v\n%s", retried, err, faults, out)
	}
	t.Logf("%d SlowDown, %d resets over %d PUTs:\n%s", faults[s3test.SlowDown], faults[s3test.Reset], n, out)
}

// Beyond the retry budget the video fails naming the object key, its
// objects are rolled back (nothing partial stays), the others complete.
func TestFaultsBeyondBudget(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/videos"), localSink(ref)))
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	bad := "o/street/datasets/crossing.webm/img/crossing.webm_frame_05.png"
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+bad) {
			return s3test.SlowDown
		}
		return s3test.Pass
	}
	out, code := vpipe(t, "run", config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", p.URL)), "--set", "sink.max_attempts=3")
	if code != 1 || !strings.Contains(out, "FAILED street/crossing.webm") || !strings.Contains(out, bad) || !strings.Contains(out, "SlowDown") {
		t.Fatalf("exit %d, want 1 with the video and key named:\n%s", code, out)
	}
	got := srv.Tree(t, bucket, "o")
	want := localTree(t, ref)
	for k := range want {
		if strings.HasPrefix(k, "street/datasets/crossing.webm/") {
			delete(want, k)
		}
	}
	sameTree(t, "S3 tree with one video failed", got, want)
	t.Logf("%s", out)
}

// Reading videos from S3 through 503s and a connection reset mid-object:
// FFmpeg reconnects and reads on from the same offset; the tree is a clean
// run's.
func TestSourceFaults(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/videos"), localSink(ref)))
	bucket := srv.Bucket(t)
	srv.Upload(t, filepath.Join(root, "testdata/videos"), bucket, "in")
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	var mu sync.Mutex
	gets := map[string]int{}
	faults := map[s3test.Fault]int{}
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, ".mp4") && !strings.HasSuffix(r.URL.Path, ".webm") {
			return s3test.Pass
		}
		mu.Lock()
		defer mu.Unlock()
		gets[r.URL.Path]++
		f := s3test.Pass
		switch gets[r.URL.Path] {
		case 2:
			f = s3test.Reset // after the probe, in the middle of a read
		case 3:
			f = s3test.SlowDown
		}
		faults[f]++
		return f
	}
	out := t.TempDir()
	mustRun(t, "run", config(t, s3Src("s3://"+bucket+"/in", p.URL), localSink(out)))
	sameTree(t, "local tree from S3 under faults", localTree(t, out), localTree(t, ref))
	if faults[s3test.Reset] == 0 || faults[s3test.SlowDown] == 0 {
		t.Fatalf("faults: %v", faults)
	}
	t.Logf("faults: %v over %d GETs", faults, faults[s3test.Pass]+faults[s3test.Reset]+faults[s3test.SlowDown])
}
