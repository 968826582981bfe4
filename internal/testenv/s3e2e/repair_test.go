package s3e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// An image whose annotation or meta object was deleted is written again by a
// re-run into S3, which ends with exactly the objects of one clean run.
func TestResumeRepairsImageS3(t *testing.T) {
	src := testcorpus.Folder(t, t.TempDir(), testcorpus.Small, "a/v1.mp4", "a/v2.mp4")
	bucket := srv.Bucket(t)
	cfg := config(t, localSrc(src), s3Sink("s3://"+bucket+"/out", srv.Endpoint))
	mustRun(t, "run", cfg, "--set", "sampling.step=1")
	clean := srv.Tree(t, bucket, "out")
	for _, kind := range []string{"ann", "meta"} {
		key := "out/a/datasets/v2.mp4/" + kind + "/v2.mp4_frame_04.png.json"
		if _, ok := clean[strings.TrimPrefix(key, "out/")]; !ok {
			t.Fatalf("%s not in the clean run's objects", key)
		}
		if _, err := srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, "run", cfg, "--set", "sampling.step=1")
		if !strings.Contains(out, "frames: 1 written, 19 skipped") {
			t.Fatalf("re-run with %s deleted: want 1 written, 19 skipped\n%s", key, out)
		}
		sameTree(t, "repaired S3 tree ("+kind+" deleted)", srv.Tree(t, bucket, "out"), clean)
	}
}
