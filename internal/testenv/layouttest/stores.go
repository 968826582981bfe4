package layouttest

import (
	"fmt"
	"os"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/azuritetest"
	"github.com/vpipe/vpipe/internal/testenv/gcstest"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/stores/azblob"
	"github.com/vpipe/vpipe/stores/gcs"
)

// Servers are the test servers of the stores a layout's suite runs on.
type Servers struct {
	S3    *s3test.Server
	GCS   *gcstest.Server
	Azure *azuritetest.Server
}

// Main starts the S3, GCS and Azure test servers for a layout package's tests
// (from TestMain), runs them and stops the servers. As each server package's
// Main: a missing versitygw fails; a missing fake-gcs-server or Azurite
// skips the tests that need it, except under CI.
func Main(m *testing.M, s *Servers) int {
	var err error
	if s.S3, err = s3test.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "layouttest: s3test:", err)
		return 1
	}
	defer s.S3.Stop()
	if s.GCS, err = gcstest.ForMain(); err != nil {
		fmt.Fprintln(os.Stderr, "layouttest: gcstest:", err)
		return 1
	}
	defer s.GCS.Stop()
	if s.Azure, err = azuritetest.ForMain(); err != nil {
		fmt.Fprintln(os.Stderr, "layouttest: azuritetest:", err)
		return 1
	}
	defer s.Azure.Stop()
	return m.Run()
}

// GCS is a Target on a fresh bucket of srv, under the prefix proj/out. The
// emulator cannot refuse one object's uploads, so the write-failure case
// skips (the store suite's TestStall holds the store's side).
func GCS(t *testing.T, srv *gcstest.Server, open Open, lay *sinktest.Layout) *sinktest.Target {
	bucket := srv.Bucket(t)
	tg := sinktest.OnStore(func(t *testing.T) store.Store { return GCSStore(t, srv, bucket, "proj/out") },
		func(st store.Store) core.Sink { return open(t, st) }, nil)
	tg.NoFaults = "fake-gcs-server cannot refuse one object's uploads"
	tg.Outside = sinktest.OutsideOf(func(t *testing.T) store.Store { return GCSStore(t, srv, bucket, "") }, "proj/out")
	tg.Layout = lay
	return tg
}

// GCSStore is the GCS store of gs://bucket/prefix on srv.
func GCSStore(t *testing.T, srv *gcstest.Server, bucket, prefix string) *gcs.Store {
	t.Helper()
	srv.Env(t)
	s, err := gcs.New(t.Context(), gcs.Options{URL: "gs://" + bucket + "/" + prefix, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Azure is a Target on a fresh container of srv, under the prefix proj/out,
// reached through a proxy that refuses the uploads of blocked blobs.
func Azure(t *testing.T, srv *azuritetest.Server, open Open, lay *sinktest.Layout) *sinktest.Target {
	ctr := srv.Container(t)
	f := srv.NewFaults(t, ctr, "proj/out")
	tg := sinktest.OnStore(func(t *testing.T) store.Store { return AzureStore(t, srv, ctr+"/proj/out", f.Endpoint) },
		func(st store.Store) core.Sink { return open(t, st) }, f.Block)
	tg.Outside = sinktest.OutsideOf(func(t *testing.T) store.Store { return AzureStore(t, srv, ctr, "") }, "proj/out")
	tg.Layout = lay
	return tg
}

// AzureStore is the Azure store of azblob://path on srv, reached at endpoint
// ("" = the server's own).
func AzureStore(t *testing.T, srv *azuritetest.Server, path, endpoint string) *azblob.Store {
	t.Helper()
	srv.Env(t)
	s, err := azblob.New(azblob.Options{URL: "azblob://" + path, Endpoint: endpoint, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
