package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sinks/sinktest"
	localstore "github.com/vpipe/vpipe/stores/local"
)

func begin(t *testing.T, s *Sink) error {
	t.Helper()
	_, err := s.Begin(context.Background(), nil, nil)
	return err
}

// An unsharded run refuses a sink another live writer holds, naming it; shards
// and workers share, but not one shard twice; a closed writer's place is free.
func TestWritersAdmitted(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	run := New(root)
	if err := begin(t, run); err != nil {
		t.Fatal(err)
	}
	second := New(root)
	err := begin(t, second)
	if err == nil || !strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), "since ") || !strings.Contains(err.Error(), LockPrefix) {
		t.Fatalf("a second run: %v, want a refusal naming the holder", err)
	}
	shard := New(root)
	shard.SetWriter(core.Writer{Role: "shard 0/2", Shared: true})
	if err := begin(t, shard); err == nil || !strings.Contains(err.Error(), "run, pid") {
		t.Fatalf("a shard beside an unsharded run: %v, want a refusal", err)
	}
	run.Close()
	if err := begin(t, shard); err != nil {
		t.Fatalf("a shard once the run closed: %v", err)
	}
	other := New(root)
	other.SetWriter(core.Writer{Role: "shard 1/2", Shared: true})
	worker := New(root)
	worker.SetWriter(core.Writer{Role: "queue worker", Shared: true})
	for _, s := range []*Sink{other, worker} {
		if err := begin(t, s); err != nil {
			t.Fatalf("%s beside shard 0/2: %v", s.st.ID(), err)
		}
	}
	again := New(root)
	again.SetWriter(core.Writer{Role: "shard 0/2", Shared: true})
	if err := begin(t, again); err == nil || !strings.Contains(err.Error(), "shard 0/2, pid") {
		t.Fatalf("shard 0/2 twice: %v, want a refusal", err)
	}
	if err := begin(t, second); err == nil {
		t.Fatal("an unsharded run beside shards was admitted")
	}
	for _, s := range []*Sink{shard, other, worker} {
		s.Close()
	}
	if err := begin(t, second); err != nil {
		t.Fatalf("once every writer closed: %v", err)
	}
	second.Close()
	if m, _ := filepath.Glob(filepath.Join(root, LockPrefix+"*")); len(m) != 0 {
		t.Fatalf("lock files left after every writer closed: %v", m)
	}
}

// A writer that died (its lock file left, nobody holding it) does not stop a
// run: its lock file and its temporaries are removed. A live writer's
// temporaries are never touched by another's clean-up.
func TestTempsOfLiveWritersKept(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	ds := []string{"ds0", "v.mp4"}
	live := New(root)
	live.SetWriter(core.Writer{Role: "shard 0/2", Shared: true})
	if err := begin(t, live); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(root, "ds0/datasets/v.mp4/img")
	if err := os.MkdirAll(img, 0o755); err != nil {
		t.Fatal(err)
	}
	dead := newID()
	if err := os.WriteFile(filepath.Join(root, LockPrefix+dead), []byte(`{"pid":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	temps := map[string]bool{ // name → kept
		tmpPrefix + live.st.ID() + "-123": true,
		tmpPrefix + dead + "-456":         false,
		tmpPrefix + "789":                 false, // an older vpipe's, unnamed
		tmpPrefix + newID() + "-1011":     false, // a writer with no lock file
	}
	for n := range temps {
		if err := os.WriteFile(filepath.Join(img, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := New(root)
	s.SetWriter(core.Writer{Role: "shard 1/2", Shared: true})
	if err := begin(t, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, LockPrefix+dead)); !os.IsNotExist(err) {
		t.Errorf("a dead writer's lock file stayed: %v", err)
	}
	if err := s.Put(context.Background(), sinktest.Image(ds, "v.mp4_frame_0.png", 10, 0)); err != nil {
		t.Fatal(err)
	}
	for n, kept := range temps {
		_, err := os.Stat(filepath.Join(img, n))
		if kept != (err == nil) {
			t.Errorf("%s: kept %v, want %v", n, err == nil, kept)
		}
	}
}

// Shards of one count share a sink; shards of different counts (0/2 and 0/4
// hold videos in common) do not, and the refusal names both.
func TestShardCountsExclude(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	half := New(root)
	half.SetWriter(core.Writer{Role: "shard 0/2", Shared: true})
	if err := begin(t, half); err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	quarter := New(root)
	quarter.SetWriter(core.Writer{Role: "shard 0/4", Shared: true})
	err := begin(t, quarter)
	if err == nil || !strings.Contains(err.Error(), "shard 0/2, pid") || !strings.Contains(err.Error(), "this shard 0/4") {
		t.Fatalf("shard 0/4 beside shard 0/2: %v, want a refusal naming both", err)
	}
	quarter.Close()
}

// newID names a writer as the store does.
func newID() string { return localstore.New("").ID() }
