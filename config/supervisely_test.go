package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

func TestSuperviselyKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte("source:\n  type: supervisely\n  project_id: 12\n  dataset_ids: [3, 4]\nsink:\n  type: supervisely\nsupervisely:\n  server_address: https://app.example.com\n"), 0o644)
	c, err := config.Load(p, []string{"stages.batch.batch_size=20"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svSource(c.Source).ProjectID != 12 || fmt.Sprint(svSource(c.Source).DatasetIDs) != "[3 4]" || svSource(c.Source).Download != "stream" ||
		c.Stages.Batch.BatchSize != 20 || c.Stages.Upload.Workers != 2 || svSection(c).ServerAddress != "https://app.example.com" {
		t.Fatalf("%+v", c)
	}
	c, err = config.Load(p, []string{"source.dataset_ids=[5]"}, nil)
	if err != nil || fmt.Sprint(svSource(c.Source).DatasetIDs) != "[5]" {
		t.Fatalf("%v %v", c, err)
	}
	_, err = config.Load(p, []string{"stages.batch.batch_size=51", "source.dataset_ids=[a]", "source.download=copy"}, nil)
	for _, w := range []string{"stages.batch.batch_size: must be 1–50", "source.dataset_ids: want a list of integers", "source.download: unknown download \"copy\" (available: file, stream)"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%v lacks %q", err, w)
		}
	}
	os.WriteFile(p, []byte("source: {path: x}\nsink: {type: supervisely}\n"), 0o644)
	if _, err := config.Load(p, nil, nil); err == nil || !strings.Contains(err.Error(), "sink.workspace_id: required") {
		t.Fatalf("%v", err)
	}
}
