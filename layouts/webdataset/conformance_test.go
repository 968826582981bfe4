package webdataset_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/sinks/sinktest"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// The layout suite on a folder: what it checks of the project layout holds
// of the samples read back from the shards.
func TestConformanceLocal(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		parent := t.TempDir()
		root := filepath.Join(parent, "out")
		open := func() *webdataset.Sink {
			s := webdataset.New(localstore.New(root), webdataset.Options{ShardSize: 4})
			// The suite opens sinks on one root without closing them (runs
			// that died, shards starting at once): they write as shards do.
			s.SetWriter(core.Writer{Role: "conformance", Shared: true})
			return s
		}
		return &sinktest.Target{
			Open: func(*testing.T) core.Sink { return open() },
			Tree: func(t *testing.T) map[string][]byte {
				publish(t, open())
				return wdstest.Project(t, readAll(t, root))
			},
			Outside: func(t *testing.T) []string {
				var out []string
				filepath.Walk(parent, func(p string, _ os.FileInfo, err error) error {
					if err == nil && p != parent && p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
						out = append(out, p)
					}
					return nil
				})
				return out
			},
			// A file where the sample's staging folder goes: its Puts fail
			// from below the sink, as a full disk would fail them.
			Block: func(t *testing.T, path string) func() {
				p := filepath.Join(root, filepath.FromSlash(wdstest.StagingFolder(t, "train", path)))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				return func() {
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			},
			Remove: func(t *testing.T, path string) {
				key, b := wdstest.DropMember(t, readAll(t, root), "train", path)
				if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(key)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			Reserved: []string{},
		}
	})
}

// publish assembles every split as a finisher would: a sink admitted as a
// writer, that puts nothing and closes.
func publish(t *testing.T, s *webdataset.Sink) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Assemble(ctx, "train"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, root string) map[string][]byte { return wdstest.ReadDir(t, root) }
