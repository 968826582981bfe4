package s3e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

func fanSinks(localPath, url, endpoint string, extra string) string {
	return "sinks:\n" +
		"  - {type: local, path: " + localPath + "}\n" +
		"  - {type: s3, url: " + url + ", endpoint: " + endpoint + extra + "}\n"
}

// sinks: [local, s3] from one decode: both trees equal a local run's.
func TestFanOutLocalAndS3(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/svproject"), localSink(ref)))
	want := localTree(t, ref)
	bucket := srv.Bucket(t)
	out := filepath.Join(t.TempDir(), "out")
	cfg := config(t, localSrc("testdata/svproject"), fanSinks(out, "s3://"+bucket+"/o", srv.Endpoint, ""))
	log := mustRun(t, "run", cfg)
	sameTree(t, "local sink of the fan-out", localTree(t, out), want)
	sameTree(t, "S3 sink of the fan-out", srv.Tree(t, bucket, "o"), want)
	if !strings.Contains(log, "10 written, 0 skipped") {
		t.Fatalf("%s", log)
	}
	if log := mustRun(t, "run", cfg); !strings.Contains(log, "0 written, 10 skipped") {
		t.Fatalf("re-run:\n%s", log)
	}
}

// With the local sink complete and the S3 one empty, plan shows each sink's
// state and the run fills S3 only, from one decode.
func TestFanOutFillsWhatIsMissing(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/videos"), localSink(ref)))
	want := localTree(t, ref)
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	cfg := config(t, localSrc("testdata/videos"), fanSinks(ref, "s3://"+bucket+"/o", p.URL, ""))
	plan := mustRun(t, "plan", cfg)
	if !regexp.MustCompile(`(?m)^ds0/traffic.mp4\s+\d+\s+20\s+0\s+20\s+\S+\s+20\s+0\s*$`).MatchString(plan) ||
		!strings.Contains(plan, "IN SINK 1 (local)") || !strings.Contains(plan, "IN SINK 2 (s3)") {
		t.Fatalf("plan:\n%s", plan)
	}
	before := map[string]int64{}
	filepath.Walk(ref, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			before[p] = fi.ModTime().UnixNano()
		}
		return nil
	})
	mustRun(t, "run", cfg)
	sameTree(t, "S3 filled by the fan-out", srv.Tree(t, bucket, "o"), want)
	sameTree(t, "local sink", localTree(t, ref), want)
	for p, m := range before {
		fi, err := os.Stat(p)
		if err != nil || (fi.ModTime().UnixNano() != m && strings.Contains(p, "/img/")) {
			t.Fatalf("%s was rewritten in the sink that had it", p)
		}
	}
	plan = mustRun(t, "plan", cfg)
	if !regexp.MustCompile(`(?m)^ds0/traffic.mp4\s+\d+\s+20\s+20\s+0\s+\S+\s+20\s+20\s*$`).MatchString(plan) {
		t.Fatalf("plan after:\n%s", plan)
	}
}

// The S3 sink failing a video fails it in both sinks: it is rolled back in
// the local sink too, and the summary names the S3 sink.
func TestFanOutOneSinkFails(t *testing.T) {
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc("testdata/videos"), localSink(ref)))
	want := localTree(t, ref)
	for k := range want {
		if strings.HasPrefix(k, "street/datasets/crossing.webm/") {
			delete(want, k)
		}
	}
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
	out := filepath.Join(t.TempDir(), "out")
	log, code := vpipe(t, "run", config(t, localSrc("testdata/videos"), fanSinks(out, "s3://"+bucket+"/o", p.URL, ", max_attempts: 2")))
	if code != 1 || !strings.Contains(log, "FAILED street/crossing.webm: write crossing.webm_frame_05.png: sink 2 (s3 s3://"+bucket+"/o") {
		t.Fatalf("exit %d:\n%s", code, log)
	}
	sameTree(t, "local sink", localTree(t, out), want)
	sameTree(t, "S3 sink", srv.Tree(t, bucket, "o"), want)
}
