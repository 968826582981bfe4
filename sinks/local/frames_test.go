package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIdentifyVideo: a moved or touched copy of a video is the same video; a
// change at its end (where an MP4 may keep its index) makes another.
func TestIdentifyVideo(t *testing.T) {
	b, err := os.ReadFile("../../testdata/videos/traffic.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= 2*idChunk {
		t.Fatalf("the test needs a video of more than %d bytes", 2*idChunk)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) VideoID {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		id, err := IdentifyVideo(p)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	orig := write("a.mp4", b)
	moved := write("b.mp4", b)
	os.Chtimes(filepath.Join(dir, "b.mp4"), time.Now(), time.Now().Add(time.Hour))
	if !orig.same(moved) || orig.Path == moved.Path {
		t.Fatalf("a copy is not the same video: %v %v", orig, moved)
	}
	changed := append([]byte(nil), b...)
	changed[len(changed)-1] ^= 1
	if orig.same(write("c.mp4", changed)) {
		t.Fatal("a change in the last bytes went unnoticed")
	}
	if orig.same(write("d.mp4", b[:len(b)-1])) {
		t.Fatal("a change of size went unnoticed")
	}
	if _, err := IdentifyVideo(filepath.Join(dir, "missing.mp4")); err == nil {
		t.Fatal("a missing video has an identity")
	}
}
