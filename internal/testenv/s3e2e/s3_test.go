package s3e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

var inputs = []string{"testdata/videos", "testdata/svproject"}

// local → S3 equals local → local; a re-run PUTs nothing.
func TestLocalToS3(t *testing.T) {
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			ref := t.TempDir()
			mustRun(t, "run", config(t, localSrc(in), localSink(ref)))
			bucket := srv.Bucket(t)
			p := s3test.NewProxy(srv.Endpoint)
			defer p.Close()
			cfg := config(t, localSrc(in), s3Sink("s3://"+bucket+"/out/proj", p.URL))
			mustRun(t, "run", cfg)
			want := localTree(t, ref)
			sameTree(t, "S3 tree", srv.Tree(t, bucket, "out/proj"), want)
			p.ResetCounts()
			out := mustRun(t, "run", cfg)
			if !strings.Contains(out, "0 written") {
				t.Fatalf("re-run:\n%s", out)
			}
			all := func(string) bool { return true }
			if n := p.Calls(http.MethodPut, all) + p.Calls(http.MethodPost, all) + p.Calls(http.MethodDelete, all); n != 0 {
				t.Fatalf("a re-run with nothing to do made %d writes", n)
			}
			t.Logf("%d images, re-run: %d GET, 0 PUT", images(want), p.Calls(http.MethodGet, all))
		})
	}
}

// S3 → local equals local → local; videos are read by range, not downloaded.
func TestS3ToLocal(t *testing.T) {
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			ref := t.TempDir()
			mustRun(t, "run", config(t, localSrc(in), localSink(ref)), "--set", "sampling.step=1")
			bucket := srv.Bucket(t)
			name := filepath.Base(in)
			srv.Upload(t, filepath.Join(root, in), bucket, "in/"+name)
			p := s3test.NewProxy(srv.Endpoint)
			defer p.Close()
			out := t.TempDir()
			mustRun(t, "run", config(t, s3Src("s3://"+bucket+"/in/"+name, p.URL), localSink(out)), "--set", "sampling.step=1")
			sameTree(t, "local tree from S3", localTree(t, out), localTree(t, ref))
			for k, b := range localTree(t, out) {
				if bytes.Contains(b, []byte("X-Amz-")) || bytes.Contains(b, []byte(srv.Access)) {
					t.Fatalf("%s holds a presigned URL or the access key", k)
				}
			}
			for rel, b := range localTree(t, filepath.Join(root, in)) {
				if !strings.Contains(rel, "video") && !strings.HasSuffix(rel, ".mp4") && !strings.HasSuffix(rel, ".webm") {
					continue
				}
				if strings.HasSuffix(rel, ".json") {
					continue
				}
				n := p.BytesRead(bucket, "in/"+name+"/"+rel)
				ratio := float64(n) / float64(len(b))
				t.Logf("%s: %d bytes read of %d (%.2f×)", rel, n, len(b), ratio)
				// An MP4 is mapped from its sample table: about one pass over its bytes.
				// Other containers are demuxed twice (map, then decode).
				if strings.HasSuffix(rel, ".mp4") && ratio > 1.1 {
					t.Errorf("%s: read %.2f× its size on a full pass, want ≤ 1.1×", rel, ratio)
				}
			}
		})
	}
}

// TestS3BytesLong: a 60 s MP4 larger than the reader's cache, read from S3 in
// full and sparsely (one frame every 5 s), counted at the proxy.
func TestS3BytesLong(t *testing.T) {
	long := testcorpus.Path(t, testcorpus.Long)
	b, err := os.ReadFile(long)
	if err != nil {
		t.Fatal(err)
	}
	bucket := srv.Bucket(t)
	srv.Put(t, bucket, "in/long.mp4", b)
	for _, tc := range []struct {
		step string
		max  float64
	}{{"1", 1.1}, {"125", 0.5}} {
		p := s3test.NewProxy(srv.Endpoint)
		mustRun(t, "run", config(t, s3Src("s3://"+bucket+"/in", p.URL), localSink(t.TempDir())),
			"--set", "sampling.step="+tc.step, "--set", "sampling.resize.width=32")
		n := p.BytesRead(bucket, "in/long.mp4")
		p.Close()
		ratio := float64(n) / float64(len(b))
		t.Logf("step %s: %d bytes read of %d (%.3f×)", tc.step, n, len(b), ratio)
		if ratio > tc.max {
			t.Errorf("step %s: read %.3f× the file, want ≤ %.1f×", tc.step, ratio, tc.max)
		}
	}
}

// S3 → S3 (an annotated project) equals local → local.
func TestS3ToS3(t *testing.T) {
	in := "testdata/svproject"
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc(in), localSink(ref)))
	bucket := srv.Bucket(t)
	srv.Upload(t, filepath.Join(root, in), bucket, "in/svproject")
	out := srv.Bucket(t)
	mustRun(t, "run", config(t, s3Src("s3://"+bucket+"/in/svproject", srv.Endpoint), s3Sink("s3://"+out+"/images", srv.Endpoint)))
	sameTree(t, "S3 tree from S3", srv.Tree(t, out, "images"), localTree(t, ref))
}

// A wrong secret fails the run with an error naming the bucket, and no secret.
func TestWrongSecretRun(t *testing.T) {
	bucket := srv.Bucket(t)
	cfg := config(t, localSrc("testdata/videos"), s3Sink("s3://"+bucket+"/o", srv.Endpoint))
	cmd := exec.Command(bin, "run", cfg)
	cmd.Dir = root
	cmd.Env = append(env(), "AWS_SECRET_ACCESS_KEY=wrong-secret-for-the-test")
	out, _ := cmd.CombinedOutput()
	s := string(out)
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(s, bucket) || !strings.Contains(s, "SignatureDoesNotMatch") {
		t.Fatalf("exit %d:\n%s", cmd.ProcessState.ExitCode(), s)
	}
	if strings.Contains(s, "wrong-secret") || strings.Contains(s, srv.Secret) {
		t.Fatalf("a secret is shown:\n%s", s)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}
