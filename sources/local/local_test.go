package local_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/sources/local"
)

// tree makes files (ending in /: folders) and symlinks (name -> target) under root.
func tree(t *testing.T, root string, files []string, links map[string]string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		content := []byte(f)
		if strings.HasSuffix(f, "meta.json") {
			content = []byte(`{"classes": [], "tags": []}`)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// items lists a source's items (dataset/name and the path opened) and its warnings.
func items(t *testing.T, path string) (ids []string, open map[string]string, warnings string) {
	t.Helper()
	var log bytes.Buffer
	src, err := local.New(path)
	if err != nil {
		t.Fatal(err)
	}
	src.Log = slog.New(slog.NewTextHandler(&log, nil))
	open = map[string]string{}
	err = src.Items(context.Background(), func(it *core.Item) error {
		ids = append(ids, it.ID())
		open[it.ID()] = it.Open
		return nil
	})
	if err != nil {
		t.Fatalf("Items: %v\n%s", err, log.String())
	}
	return ids, open, log.String()
}

// A symlinked root, symlinked sub-folders and symlinked videos are followed;
// loops are left out with a warning naming the link; the walk ends.
func TestSymlinksFollowed(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, []string{"real/a.mp4", "real/sub/b.mp4", "real/.hidden/h.mp4", "elsewhere/c.mp4", "elsewhere/deep/d.mp4"},
		map[string]string{
			"root":                 "real",               // the source root is a link
			"real/linked":          "../elsewhere",       // a sub-folder outside the root
			"real/e.mp4":           "../elsewhere/c.mp4", // a video
			"real/sub/back":        "..",                 // loop: back to the root
			"real/sub/self":        ".",                  // loop: itself
			"elsewhere/up":         "../real",            // loop to the root, through the linked folder
			"elsewhere/deep/again": "..",                 // loop to the linked folder
			"real/broken":          "nowhere",            // broken, not a video: left out
			"real/gone.mp4":        "nowhere.mp4",        // broken video: kept, fails when opened
		})
	root := filepath.Join(dir, "root")
	ids, open, warnings := items(t, root)
	want := []string{"ds0/a.mp4", "ds0/e.mp4", "ds0/gone.mp4", "linked/c.mp4", "linked/deep/d.mp4", "sub/b.mp4"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("items:\n got %v\nwant %v\nwarnings:\n%s", ids, want, warnings)
	}
	if got := open["linked/deep/d.mp4"]; got != filepath.Join(root, "linked", "deep", "d.mp4") {
		t.Errorf("linked/deep/d.mp4 opens %s", got)
	}
	wantWarnings := []string{
		`msg="skipped a broken symlink" path=` + filepath.Join(root, "broken"),
		loop(filepath.Join(root, "linked", "up"), root), // a folder's links are looked at before its sub-folders are walked
		loop(filepath.Join(root, "linked", "deep", "again"), filepath.Join(root, "linked")),
		loop(filepath.Join(root, "sub", "back"), root),
		loop(filepath.Join(root, "sub", "self"), filepath.Join(root, "sub")),
	}
	checkWarnings(t, warnings, wantWarnings)
}

func loop(path, to string) string {
	return `msg="skipped a symlink loop" path=` + path + ` "leads back to"=` + to
}

// checkWarnings wants exactly these warnings, in this order.
func checkWarnings(t *testing.T, log string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(lines), len(want), log)
		return
	}
	for i, w := range want {
		if !strings.Contains(lines[i], "level=WARN "+w) {
			t.Errorf("warning %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
}

// The same in a Supervisely video project: a symlinked project, datasets and
// nested datasets, and loops through <dataset>/datasets/.
func TestSymlinksFollowedInProject(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, []string{"proj-real/meta.json", "proj-real/ds1/video/v1.mp4", "proj-real/ds1/datasets/",
		"other/video/v2.mp4", "other/datasets/", "ds2-real/video/", "store/v3.mp4"},
		map[string]string{
			"proj":                         "proj-real",
			"proj-real/ds1/datasets/child": "../../../other", // a nested dataset
			"proj-real/ds1/datasets/loop":  "../..",          // loop: the project
			"other/datasets/back":          "..",             // loop: the nested dataset itself
			"proj-real/ds2":                "../ds2-real",    // a top dataset
			"ds2-real/video/v3.mp4":        "../../store/v3.mp4",
		})
	root := filepath.Join(dir, "proj")
	ids, _, warnings := items(t, root)
	want := []string{"ds1/v1.mp4", "ds1/child/v2.mp4", "ds2/v3.mp4"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("items:\n got %v\nwant %v\nwarnings:\n%s", ids, want, warnings)
	}
	child := filepath.Join(root, "ds1", "datasets", "child")
	checkWarnings(t, warnings, []string{
		loop(filepath.Join(root, "ds1", "datasets", "loop"), root),
		loop(filepath.Join(child, "datasets", "back"), child),
	})
}
