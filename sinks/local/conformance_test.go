package local_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sinks/local"
	"github.com/vpipe/vpipe/sinks/sinktest"
)

func TestConformance(t *testing.T) { conformance(t, false) }

// With sink.fsync every write also syncs the file and its folder: the same
// promises hold.
func TestConformanceFsync(t *testing.T) { conformance(t, true) }

func conformance(t *testing.T, fsync bool) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		parent := t.TempDir()
		root := filepath.Join(parent, "out")
		return &sinktest.Target{
			Open: func(*testing.T) core.Sink {
				s := local.New(root)
				s.Fsync = fsync
				// The suite opens sinks on one root without closing them (runs
				// that died, shards starting at once): they write as shards do.
				s.SetWriter(core.Writer{Role: "conformance", Shared: true})
				return s
			},
			Tree: func(t *testing.T) map[string][]byte {
				out := map[string][]byte{}
				if err := readTree(root, root, out); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				return out
			},
			Outside: func(t *testing.T) []string {
				var out []string
				filepath.Walk(parent, func(p string, info os.FileInfo, err error) error {
					if err == nil && p != parent && p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
						out = append(out, p)
					}
					return nil
				})
				return out
			},
			Block:  func(t *testing.T, path string) func() { return Block(t, root, path) },
			Remove: func(t *testing.T, path string) { Remove(t, root, path) },
		}
	})
}

// Block makes the file root/path unwritable: an empty folder in its place, so
// the rename of a finished temporary onto it fails (EISDIR) as a full disk
// would fail the write: from below the sink. unblock removes the folder.
func Block(t *testing.T, root, path string) (unblock func()) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(path))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// Remove deletes root/path, as a hand would.
func Remove(t *testing.T, root, path string) {
	t.Helper()
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(path))); err != nil {
		t.Fatal(err)
	}
}

// readTree reads every file under dir as a reader of the project would: a
// dataset's img/ folder is listed before its ann/ and meta/, since the sink
// promises that an image it lists already has them (listing ann/ first could
// miss an annotation written just before an image that img/ then shows).
func readTree(root, dir string, out map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil // removed while walking
	}
	if err != nil {
		return err
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Name() == "img" && entries[j].Name() != "img" })
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary
		}
		if e.IsDir() {
			if err := readTree(root, p, out); err != nil {
				return err
			}
			continue
		}
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue // renamed or removed while walking
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
	}
	return nil
}
