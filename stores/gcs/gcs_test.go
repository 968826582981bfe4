package gcs_test

import (
	"context"
	"os"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/gcstest"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/storetest"
	"github.com/vpipe/vpipe/stores/gcs"
)

var srv *gcstest.Server

func TestMain(m *testing.M) { os.Exit(gcstest.Main(m, &srv)) }

// open makes a store on gs://bucket/prefix of the emulator, listing in pages
// of 4 objects.
func open(t *testing.T, bucket, prefix string) *gcs.Store {
	srv.Env(t)
	s, err := gcs.New(context.Background(), gcs.Options{URL: "gs://" + bucket + "/" + prefix, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.PageSize = 4
	return s
}

// TestStore runs the store suite on an emulator bucket prefix. The emulator
// cannot refuse or cut an upload on demand, so Block and Cut are nil (the
// suite's Faults case skips); TestStall freezes it instead.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Target {
		bucket := srv.Bucket(t)
		return &storetest.Target{Open: func(t *testing.T) store.Store { return open(t, bucket, "pre/fix") }}
	})
}

// Built for sinks[1], the store names sinks[1].url in its messages.
func TestKeyNamesSection(t *testing.T) {
	srv.Env(t)
	spec, _ := registry.Lookup(registry.Sink, "gcs")
	conf, _ := spec.Locate("gs://" + srv.Bucket(t) + "/p")
	st, err := spec.NewStore(context.Background(), conf, registry.Deps{Role: registry.Sink, Prefix: "sinks[1]"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if k := st.Features().Key; k != "sinks[1].url" {
		t.Fatalf("Features().Key = %q, want sinks[1].url", k)
	}
}
