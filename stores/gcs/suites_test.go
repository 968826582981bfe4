package gcs_test

import (
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/sources/sourcetest"
	"github.com/vpipe/vpipe/sources/storesource"
	"github.com/vpipe/vpipe/store"
)

// The Supervisely layout on the store passes the layout suite (no fault
// injection: the emulator cannot refuse one object's uploads), and the store
// as a source passes the source suite.
func TestLayout(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		bucket := srv.Bucket(t)
		tg := sinktest.OnStore(func(t *testing.T) store.Store { return open(t, bucket, "proj/out") },
			func(st store.Store) core.Sink { return project.New(st) }, nil)
		tg.NoFaults = "fake-gcs-server cannot refuse one object's uploads, and routes by Host, so the S3 tests' fault proxy cannot stand in front of it"
		tg.Outside = sinktest.OutsideOf(func(t *testing.T) store.Store { return open(t, bucket, "") }, "proj/out")
		return tg
	})
}

func TestSource(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Remote: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			bucket := srv.Bucket(t)
			st := open(t, bucket, "videos")
			for k, b := range files {
				if err := st.Put(t.Context(), k, b); err != nil {
					t.Fatal(err)
				}
			}
			return storesource.New(open(t, bucket, "videos"))
		}}
	})
}
