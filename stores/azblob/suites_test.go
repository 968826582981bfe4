package azblob_test

import (
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/sources/sourcetest"
	"github.com/vpipe/vpipe/sources/storesource"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/stores/azblob"
)

// The Supervisely layout on the store passes the layout suite (writes of one
// blob refused by the fault proxy), and the store as a source passes the
// source suite.
func TestLayout(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		ctr := srv.Container(t)
		f := srv.NewFaults(t, ctr, "proj/out")
		tg := sinktest.OnStore(func(t *testing.T) store.Store {
			return open(t, azblob.Options{URL: "azblob://" + ctr + "/proj/out", Endpoint: f.Endpoint, MaxAttempts: 3})
		}, func(st store.Store) core.Sink { return project.New(st) }, f.Block)
		tg.Outside = sinktest.OutsideOf(func(t *testing.T) store.Store {
			return open(t, azblob.Options{URL: "azblob://" + ctr})
		}, "proj/out")
		return tg
	})
}

func TestSource(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Remote: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			ctr := srv.Container(t)
			st := open(t, azblob.Options{URL: "azblob://" + ctr + "/videos"})
			for k, b := range files {
				if err := st.Put(t.Context(), k, b); err != nil {
					t.Fatal(err)
				}
			}
			return storesource.New(open(t, azblob.Options{URL: "azblob://" + ctr + "/videos"}))
		}}
	})
}
