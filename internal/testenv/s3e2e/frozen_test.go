package s3e2e

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// A run writing to S3 whose server freezes mid-run (versitygw stopped with
// SIGSTOP: connections are accepted, nothing answers) ends by itself: the
// write that got no answer fails naming the object, the roll-back fails too
// and the summary says how many images may be left and where, instead of
// claiming 0 written. Resumed, the server holds at least those images.
func TestFrozenServerEndsRun(t *testing.T) {
	own, err := s3test.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	defer own.Thaw() // before Stop's kill, harmless if not frozen
	bucket := own.Bucket(t)
	long := longVideo(t)
	cfg := config(t, localSrc(long), s3Sink("s3://"+bucket+"/o", own.Endpoint))
	cmd := exec.Command(bin, "run", cfg, "--set", "sampling.step=1", "--set", "stages.write.workers=1",
		"--set", "sink.timeout_s=1", "--set", "sink.max_attempts=2")
	cmd.Dir = root
	cmd.Env = append(env(), "AWS_ACCESS_KEY_ID="+own.Access, "AWS_SECRET_ACCESS_KEY="+own.Secret)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	before := 0
	deadline := time.Now().Add(3 * time.Minute) // a hang guard, not a timing assertion
	for before < 20 {                           // wait for some images, then freeze the server
		if time.Now().After(deadline) {
			t.Fatalf("no 20 images stored in time:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
		n := 0
		for _, k := range own.Keys(t, bucket, "o/") {
			if strings.Contains(k, "/img/") {
				n++
			}
		}
		before = n
		select {
		case err := <-exited:
			t.Fatalf("the run ended before the server was frozen: %v\n%s", err, log.String())
		default:
		}
	}
	if err := own.Freeze(); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(3 * time.Minute): // a hang, not a timing assertion
		own.Thaw()
		<-exited
		t.Fatalf("the run did not end while the server was frozen (it ended once resumed):\n%s", log.String())
	}
	out := log.String()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out)
	}
	for _, w := range []string{"FAILED ds0/long.mp4", "s3://" + bucket + "/o/", "no answer", "roll-back failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	m := regexp.MustCompile(`(\d+) image\(s\) of failed videos may be left`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the summary does not say how many images may be left:\n%s", out)
	}
	left, _ := strconv.Atoi(m[1])
	if strings.Contains(out, "frames: 0 written") || left < before {
		t.Errorf("the summary says %d may be left (0 written?), yet %d were stored before the freeze:\n%s", left, before, out)
	}
	if err := own.Thaw(); err != nil {
		t.Fatal(err)
	}
	imgs := 0
	for _, k := range own.Keys(t, bucket, "o/") {
		if strings.Contains(k, "/img/") {
			imgs++
		}
	}
	// Resumed, the server applies what it had taken in while frozen: the
	// roll-back's DeleteObjects may remove some, the PUT that got no answer
	// may add one (one write worker). No more than that is there.
	if imgs > left+1 {
		t.Errorf("%d images in the bucket once resumed, the summary says %d may be left", imgs, left)
	}
	t.Logf("%d images before the freeze, %d said to be left, %d there once resumed:\n%s", before, left, imgs, out)
}

// With no AWS credentials anywhere (no variables, an empty HOME, no instance
// role), the run fails naming the bucket and how to give credentials, not
// with the SDK's chain error alone.
func TestNoCredentialsRun(t *testing.T) {
	bucket := srv.Bucket(t)
	cfg := config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", srv.Endpoint))
	cmd := exec.Command(bin, "run", cfg)
	cmd.Dir = root
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "VPIPE_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
	b, _ := cmd.CombinedOutput()
	out := string(b)
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %d, want 1:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	for _, w := range []string{"AWS credentials for bucket ", "bucket " + bucket, "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "~/.aws/credentials"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}

// Credentials written into an endpoint are refused (sink and source, file,
// --set and fan-out), and never printed.
func TestEndpointCredentialsRefused(t *testing.T) {
	bucket := srv.Bucket(t)
	withCreds := strings.Replace(srv.Endpoint, "http://", "http://AKIDLEAK:"+srv.Secret+"@", 1)
	for name, args := range map[string][]string{
		"sink": {"run", config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", withCreds))},
		"set": {"run", config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", srv.Endpoint)),
			"--set", "sink.endpoint=" + withCreds},
		"source":   {"validate", config(t, s3Src("s3://"+bucket+"/in", withCreds), localSink(t.TempDir()))},
		"sinks[1]": {"run", config(t, localSrc("testdata/videos"), fanSinks(t.TempDir(), "s3://"+bucket+"/o", withCreds, ""))},
	} {
		out, code := vpipe(t, args...) // vpipe fails the test if the secret is printed
		key := map[string]string{"sink": "sink.endpoint", "set": "sink.endpoint", "source": "source.endpoint", "sinks[1]": "sinks[1].endpoint"}[name]
		if code != 1 || !strings.Contains(out, key) || !strings.Contains(out, "credentials") || strings.Contains(out, "AKIDLEAK") {
			t.Errorf("%s: exit %d, want 1 naming %s without the credentials:\n%s", name, code, key, out)
		}
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}
