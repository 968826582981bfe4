package localpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApart(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "ds0", "video"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(src, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sink, how string }{
		{src, " is source.path"},
		{filepath.Join(dir, "link"), " is source.path"},                      // a symlink to the source
		{filepath.Join(dir, "link", "out", "new"), " is inside source.path"}, // not there yet, under a link
		{filepath.Join(src, "ds0", "..", "out"), " is inside source.path"},   // .. resolved
		{dir, " holds source.path"},
		{filepath.Join(dir, "src2"), ""}, // a common prefix is not inside
		{filepath.Join(dir, "out"), ""},
	} {
		err := Apart("sink.path", c.sink, "source.path", src)
		if c.how == "" {
			if err != nil {
				t.Errorf("%s: %v", c.sink, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.how) || !strings.Contains(err.Error(), c.sink) {
			t.Errorf("%s: %v, want %q naming both", c.sink, err, c.how)
		}
	}
}
