package verify_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	s3store "github.com/vpipe/vpipe/stores/s3"
	"github.com/vpipe/vpipe/verify"
)

// TestVerifyS3: a dataset in a bucket verifies as on disk (the same layout
// read through the S3 store), and an image removed from it is missing.
func TestVerifyS3(t *testing.T) {
	srv, err := s3test.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	srv.Env(t)
	c := annotated(t)
	bucket := srv.Bucket(t)
	srv.Upload(t, write(t, c), bucket, "sets/a")
	run := func() *verify.Result {
		cl, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://" + bucket + "/sets/a", Endpoint: srv.Endpoint, PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := verify.Run(context.Background(), verify.Options{Config: c, Source: source(t, c), Dataset: s3store.New(cl), Log: discard})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run(); !res.OK() || res.Checked != 9 {
		t.Fatalf("checked %d:\n%s", res.Checked, lines(res))
	}
	key := "sets/a/ds0/datasets/clip.mp4/img/clip.mp4_frame_07.png"
	if _, err := srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if res := run(); len(res.Mismatches) != 1 || res.Mismatches[0].Image != "ds0/datasets/clip.mp4/img/clip.mp4_frame_07.png" || res.Mismatches[0].Reason != "missing" {
		t.Fatalf("want clip frame 7 missing:\n%s", lines(res))
	}
}
