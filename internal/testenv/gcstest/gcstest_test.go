package gcstest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var srv *Server

func TestMain(m *testing.M) { os.Exit(Main(m, &srv)) }

// The plain JSON-API calls store and read back an object under a name with
// slashes and spaces; a missing one is not found.
func TestRoundTrip(t *testing.T) {
	b := srv.Bucket(t)
	srv.Put(t, b, "a/b c.png", []byte("x y"))
	if got, found := srv.Object(t, b, "a/b c.png"); !found || !bytes.Equal(got, []byte("x y")) {
		t.Fatalf("read back: %v %q", found, got)
	}
	if _, found := srv.Object(t, b, "a/missing"); found {
		t.Fatal("a missing object was found")
	}
}

// A binary that is not there is told apart (the tests skip on it, unless CI is set).
func TestMissingBinary(t *testing.T) {
	t.Setenv("VPIPE_FAKE_GCS", filepath.Join(t.TempDir(), "none"))
	if _, err := Start(); !errors.Is(err, errMissing) {
		t.Fatalf("Start without the binary: %v", err)
	}
}
