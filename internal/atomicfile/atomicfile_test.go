package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/internal/atomicfile"
)

// Write replaces a file whole and leaves no temporary, with or without
// fsync; a write that cannot be made leaves the old file and no temporary.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	for _, fsync := range []bool{false, true} {
		want := []byte("v" + map[bool]string{false: "1", true: "2"}[fsync])
		if err := atomicfile.Write(p, want, fsync, "w1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != string(want) {
			t.Fatalf("fsync=%v: %q, want %q", fsync, got, want)
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "missing", "x"), []byte("x"), true, ""); err == nil {
		t.Fatal("a write into a missing folder succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "busy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(filepath.Join(dir, "busy"), []byte("x"), false, ""); err == nil {
		t.Fatal("a write over a folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("left in the folder: %v, want report.json and busy", entries)
	}
}
