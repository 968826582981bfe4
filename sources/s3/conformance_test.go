package s3

import (
	"context"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/sources/sourcetest"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Remote: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			srv.Env(t)
			b := srv.Bucket(t)
			for k, data := range files {
				srv.Put(t, b, "root/"+k, data)
			}
			s, err := New(context.Background(), s3conn.Options{URL: "s3://" + b + "/root", Endpoint: srv.Endpoint, PathStyle: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}}
	})
}
