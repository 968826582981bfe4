package gcs_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/rangeread"
	"github.com/vpipe/vpipe/stores/gcs"
)

var ctx = context.Background()

// A video of testdata/, stored by an independent upload, read through the
// store by the resumable reader with small ranges and seeks (as FFmpeg reads
// it, head, tail, then forward), is the file's bytes.
func TestRangeReadVideo(t *testing.T) {
	want, err := os.ReadFile("../../testdata/videos/traffic.mp4")
	if err != nil {
		t.Fatal(err)
	}
	bucket := srv.Bucket(t)
	srv.Put(t, bucket, "raw/traffic.mp4", want)
	s := open(t, bucket, "raw")
	r := rangeread.New(ctx, rangeread.FromStore(s, "traffic.mp4"), rangeread.Options{Size: int64(len(want)), Timeout: time.Minute,
		MinChunk: 4 << 10, MaxChunk: 32 << 10, CacheBlocks: 8, Policy: rangeread.Policy{
			Open: func(_ int, _ int64, err error) error { return err },
			Read: func(_ int, _ int64, err error) error { return err }}})
	defer r.Close()
	got := make([]byte, len(want))
	for _, at := range []int64{0, int64(len(want)) - 5000, 1000, 0} {
		if _, err := r.Seek(at, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadFull(r, got[at:])
		if err != nil || !bytes.Equal(got[at:at+int64(n)], want[at:]) {
			t.Fatalf("from %d: %d bytes, %v; not the file's bytes", at, n, err)
		}
	}
}

// Update gives up, naming the object, when another writer changes it
// between every read and write; the other writer's bytes stay.
func TestUpdateGivesUp(t *testing.T) {
	defer func(b time.Duration) { store.CASBudget = b }(store.CASBudget)
	store.CASBudget = 300 * time.Millisecond // the rounds are paced: a short budget ends it
	bucket := srv.Bucket(t)
	s := open(t, bucket, "p")
	n := 0
	s.BeforeUpdateWrite = func() {
		n++
		srv.Put(t, bucket, "p/x.json", []byte(strings.Repeat("o", n)))
	}
	err := s.Update(ctx, "x.json", func([]byte, bool) ([]byte, error) { return []byte("mine"), nil })
	if err == nil || !strings.Contains(err.Error(), "other writers") || !strings.Contains(err.Error(), "gs://"+bucket+"/p/x.json") {
		t.Fatalf("Update against a writer that always comes first: %v", err)
	}
	if b, _ := srv.Object(t, bucket, "p/x.json"); string(b) != strings.Repeat("o", n) || n < 3 {
		t.Fatalf("x.json is %q after %d rounds, want the other writer's last of several", b, n)
	}
}

// Holds tells the bytes an object holds from its metadata.
func TestHolds(t *testing.T) {
	s := open(t, srv.Bucket(t), "h")
	if err := s.Put(ctx, "a.png", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	holds := s.Features().Holds
	if !holds(ctx, "a.png", []byte("abc")) || holds(ctx, "a.png", []byte("abd")) || holds(ctx, "a.png", []byte("ab")) || holds(ctx, "b.png", nil) {
		t.Fatal("Holds: wrong answer for the same bytes, other bytes, fewer bytes or a missing object")
	}
}

// Check and Open find a missing bucket and name it; a bucket that exists
// passes, with nothing written.
func TestCheck(t *testing.T) {
	bucket := srv.Bucket(t)
	if err := open(t, bucket, "c").Open(ctx); err != nil {
		t.Fatalf("Open of an existing bucket: %v", err)
	}
	if keys, _ := srv.Object(t, bucket, "c/"); keys != nil {
		t.Fatal("Open wrote an object")
	}
	err := open(t, "no-such-bucket", "c").Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "gs://no-such-bucket/c/") || !strings.Contains(err.Error(), "bucket no-such-bucket does not exist") {
		t.Fatalf("Check of a missing bucket: %v", err)
	}
}

// A server that stops answering makes calls give up after timeout_s on
// each of max_attempts attempts, naming the object and the settings; an
// upload given up leaves the old object or the whole new one (it may have
// been applied: MaybeApplied), never part, and Holds tells which.
func TestStall(t *testing.T) {
	bucket := srv.Bucket(t)
	srv.Env(t)
	s, err := gcs.New(ctx, gcs.Options{URL: "gs://" + bucket + "/f", MaxAttempts: 2, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("v"), 100_000)
	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			if err := srv.Thaw(); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer thaw()
	start := time.Now()
	for call, do := range map[string]func() error{
		"write": func() error { return s.Put(ctx, "a.png", data) },
		"read":  func() error { _, _, err := s.Get(ctx, "b.json"); return err },
	} {
		err := do()
		if err == nil || !strings.Contains(err.Error(), call+" gs://"+bucket+"/f/") || !strings.Contains(err.Error(), "timeout_s") {
			t.Fatalf("%s against a frozen server: %v", call, err)
		}
		t.Logf("%s: %v", call, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("gave up after %s", d)
	}
	thaw()
	// The thawed server may still take the upload it had queued: the object
	// can appear while this looks, whole, and Holds agrees with the reads
	// around it.
	b1, found1, err1 := s.Get(ctx, "a.png")
	holds := s.Features().Holds(ctx, "a.png", data)
	b2, found2, err2 := s.Get(ctx, "a.png")
	if err1 != nil || err2 != nil || (found1 && !bytes.Equal(b1, data)) || (found2 && !bytes.Equal(b2, data)) || (found1 && !holds) || (holds && !found2) {
		t.Fatalf("after a given-up upload: found %v (%d bytes, %v), holds %v, found %v (%d bytes, %v)", found1, len(b1), err1, holds, found2, len(b2), err2)
	}
}
