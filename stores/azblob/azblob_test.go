package azblob_test

import (
	"os"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/azuritetest"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/storetest"
	"github.com/vpipe/vpipe/stores/azblob"
)

var srv *azuritetest.Server

func TestMain(m *testing.M) { os.Exit(azuritetest.Main(m, &srv)) }

// TestStore runs the store suite on an Azurite container prefix, through a
// proxy that refuses or cuts the uploads of the blobs a test names.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Target {
		ctr := srv.Container(t)
		f := srv.NewFaults(t, ctr, "pre/fix")
		return &storetest.Target{Open: func(t *testing.T) store.Store {
			return open(t, azblob.Options{URL: "azblob://" + ctr + "/pre/fix", Endpoint: f.Endpoint, MaxAttempts: 3})
		}, Block: f.Block, Cut: f.Cut}
	})
}

// open makes a store with the server's connection string in the environment,
// listing 4 blobs a page.
func open(t *testing.T, o azblob.Options) *azblob.Store {
	srv.Env(t)
	s, err := azblob.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.PageSize = 4
	return s
}

// Built for sinks[1], the store names sinks[1].url in its messages.
func TestKeyNamesSection(t *testing.T) {
	srv.Env(t)
	spec, _ := registry.Lookup(registry.Sink, "azblob")
	conf, _ := spec.Locate("azblob://" + srv.Container(t) + "/p")
	st, err := spec.NewStore(t.Context(), conf, registry.Deps{Role: registry.Sink, Prefix: "sinks[1]"})
	if err != nil {
		t.Fatal(err)
	}
	if k := st.Features().Key; k != "sinks[1].url" {
		t.Fatalf("Features().Key = %q, want sinks[1].url", k)
	}
}
