package storesource

import (
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sources/sourcetest"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// The source over the S3 store and over the local store (a folder read as a
// store, with ranged reads) pass the source suite.
func TestConformanceS3(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Remote: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			b := srv.Bucket(t)
			for k, data := range files {
				srv.Put(t, b, "root/"+k, data)
			}
			return s3Source(t, "s3://"+b+"/root", srv.Endpoint, 0, 0)
		}}
	})
}

func TestConformanceLocalStore(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Remote: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			m := map[string]string{}
			for k, v := range files {
				m[k] = string(v)
			}
			return New(localstore.New(folder(t, m)))
		}}
	})
}
