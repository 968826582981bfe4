package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
)

// Shards share a store only with the other shards of their count: 0/2 and 0/4
// hold videos in common, one shard twice writes the same videos.
func TestExcludes(t *testing.T) {
	for _, c := range []struct {
		w, h string
		want bool
	}{
		{"shard 1/2", "shard 0/2", false},
		{"shard 0/2", "shard 0/2", true},
		{"shard 1/4", "shard 0/2", true},
		{"queue worker", "shard 0/2", false},
		{"queue worker", "queue worker", false},
	} {
		if got := excludes(core.Writer{Role: c.w, Shared: true}, Holder{Role: c.h, Shared: true}); got != c.want {
			t.Errorf("excludes(%s, %s) = %v, want %v", c.w, c.h, got, c.want)
		}
	}
}

// A lock file another process holds is refused with words, not "<nil>".
func TestLockHeldSaid(t *testing.T) {
	err := lockError("/out/.vpipe-lock-1.ab", false, nil)
	if err == nil || strings.Contains(err.Error(), "nil") || !strings.Contains(err.Error(), "/out/.vpipe-lock-1.ab") {
		t.Fatalf("lock held: %v", err)
	}
}

// A delete removes the folders it empties, up to the root and never the root,
// also when the root is "." (keys then name folders without a "./").
func TestDeleteRemovesEmptiedFoldersUnderDot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := New(".")
	ctx := t.Context()
	if err := s.Put(ctx, "ds/img/a.png", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "ds/img/a.png"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ds")); !os.IsNotExist(err) {
		t.Fatalf("the emptied folder ds is left: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the root went too: %v", err)
	}
}
