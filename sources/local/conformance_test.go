package local_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/sources/sourcetest"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Plain: true, MissingAnnotation: true, Write: func(t *testing.T, files map[string][]byte) core.Source {
			root := t.TempDir()
			for k, b := range files {
				p := filepath.Join(root, filepath.FromSlash(k))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := local.New(root)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}}
	})
}
