package preview

import (
	"slices"
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

func TestPreviewNaturalOrder(t *testing.T) {
	names := []string{"f_10.png", "f_9.png", "f_009b.png", "f_0100.png", "a.png", "f_.png", "f_2.png", "f_02.png"}
	slices.SortStableFunc(names, naturalCompare)
	if got := strings.Join(names, " "); got != "a.png f_.png f_2.png f_02.png f_9.png f_009b.png f_10.png f_0100.png" {
		t.Errorf("natural order: %s", got)
	}
}
