package local_test

import (
	"os"
	"path/filepath"
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
				return s
			},
			Tree: func(t *testing.T) map[string][]byte {
				out := map[string][]byte{}
				err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
					if os.IsNotExist(err) {
						return nil // a temporary renamed or removed while walking
					}
					if err != nil || info.IsDir() || strings.HasPrefix(info.Name(), ".") {
						return err
					}
					b, err := os.ReadFile(p)
					if os.IsNotExist(err) {
						return nil
					}
					rel, _ := filepath.Rel(root, p)
					out[filepath.ToSlash(rel)] = b
					return err
				})
				if err != nil && !os.IsNotExist(err) {
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
		}
	})
}
