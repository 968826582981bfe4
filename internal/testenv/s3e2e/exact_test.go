package s3e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A Supervisely project in S3 whose video has no annotation file is sampled as
// the same project on disk is: that video unlabelled, with a warning naming
// it, exit 0.
func TestS3ProjectMissingAnnotation(t *testing.T) {
	proj := filepath.Join(t.TempDir(), "svproject")
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "testdata/svproject"), proj).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.Remove(filepath.Join(proj, "ds0/ann/clip.mp4.json")); err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	mustRun(t, "run", config(t, localSrc(proj), localSink(ref)))
	bucket := srv.Bucket(t)
	srv.Upload(t, proj, bucket, "in/svproject")
	out := t.TempDir()
	log := mustRun(t, "run", config(t, s3Src("s3://"+bucket+"/in/svproject", srv.Endpoint), localSink(out)))
	if !strings.Contains(log, "annotation file missing") || !strings.Contains(log, "video=ds0/clip.mp4") ||
		!strings.Contains(log, "in/svproject/ds0/ann/clip.mp4.json") {
		t.Errorf("no warning naming the video and its annotation file:\n%s", log)
	}
	sameTree(t, "from S3", localTree(t, out), localTree(t, ref))
}
