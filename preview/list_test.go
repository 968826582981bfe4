package preview

import (
	"strings"
	"testing"
)

func TestPreviewSplitKey(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"ds0/img/a.png", "ds0 | ds0 | img | a.png"},
		{"ds0/datasets/clip.mp4/ann/x.png.json", "ds0/clip.mp4 | ds0/datasets/clip.mp4 | ann | x.png.json"},
		{"ds0/datasets/night/datasets/dark.mp4/meta/y.png.json", "ds0/night/dark.mp4 | ds0/datasets/night/datasets/dark.mp4 | meta | y.png.json"},
		{"meta.json", ""},
		{"ds0/custom_data.json", ""},
		{"ds0/datasets/clip.mp4/custom_data.json", ""},
		{"ds0/img/sub/a.png", ""},                    // no deeper than the dataset's img/
		{"thumbs/w256/ds0/datasets/c/img/a.jpg", ""}, // a site inside the project is no dataset
		{"ds0/blob/a.png", ""},
		{"ds0/img/", ""},
	} {
		ds, dir, kind, file, ok := splitKey(c.key)
		got := ""
		if ok {
			got = strings.Join(ds, "/") + " | " + dir + " | " + kind + " | " + file
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.key, got, c.want)
		}
	}
}
