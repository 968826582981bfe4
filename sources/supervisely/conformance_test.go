package supervisely_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/sources/sourcetest"
	svsrc "github.com/vpipe/vpipe/sources/supervisely"
	"github.com/vpipe/vpipe/supervisely/api"
)

// The platform holds projects only: the fixture files are seeded into the fake
// server as the platform's own import would, then read back through the API,
// each video streamed with ranged reads.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) *sourcetest.Target {
		return &sourcetest.Target{Remote: true, ProjectProvenance: []string{"video_id", "video_dataset_id", "video_project_id"},
			Write: func(t *testing.T, files map[string][]byte) core.Source {
				dir := filepath.Join(t.TempDir(), "project")
				for k, b := range files {
					p := filepath.Join(dir, filepath.FromSlash(k))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				s := svtest.New("token", 2)
				t.Cleanup(s.Close)
				p, err := s.SeedLocal(dir, 7, nil)
				if err != nil {
					t.Fatal(err)
				}
				c, err := api.New(api.Options{Server: s.URL(), Token: "token", Timeout: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				return &svsrc.Source{C: c, ProjectID: p.ID, Download: "stream", ReadTimeout: 10 * time.Second}
			}}
	})
}
