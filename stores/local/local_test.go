package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/storetest"
	"github.com/vpipe/vpipe/stores/local"
)

func TestStore(t *testing.T) { suite(t, false) }

// With Fsync every write also syncs the file and its folder: the same
// promises hold.
func TestStoreFsync(t *testing.T) { suite(t, true) }

func suite(t *testing.T, fsync bool) {
	storetest.Run(t, func(t *testing.T) *storetest.Target {
		root := filepath.Join(t.TempDir(), "out")
		return &storetest.Target{
			Open: func(t *testing.T) store.Store {
				s := local.New(root)
				s.Fsync = fsync
				// Writers on one root write as shards do: admitted, so
				// none cleans up another's temporaries.
				if err := s.Open(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := s.Features().Admit(core.Writer{Role: "storetest", Shared: true}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			},
			// A folder in the file's place: the rename of a finished
			// temporary onto it fails, as a full disk would fail the write.
			Block: func(t *testing.T, key string) func() {
				p := filepath.Join(root, filepath.FromSlash(key))
				if err := os.Rename(p, p+".blocked"); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return func() {
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
					if err := os.Rename(p+".blocked", p); err != nil {
						t.Fatal(err)
					}
				}
			},
		}
	})
}

// Built for sinks[1], the store names sinks[1].path in its messages (a
// layout's "write to another …"), not sink.path.
func TestKeyNamesSection(t *testing.T) {
	spec, _ := registry.Lookup(registry.Sink, "local")
	conf, _ := spec.Locate(t.TempDir())
	st, err := spec.NewStore(context.Background(), conf, registry.Deps{Role: registry.Sink, Prefix: "sinks[1]"})
	if err != nil {
		t.Fatal(err)
	}
	if k := st.Features().Key; k != "sinks[1].path" {
		t.Fatalf("Features().Key = %q, want sinks[1].path", k)
	}
}
