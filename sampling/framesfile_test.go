package sampling

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFramesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(p, []byte(`{"a.mp4": [3, 1], "ds/sub/a.mp4": {"times": [1.5, "00:00:02.5", 1e-05]}, "b.mp4": {"frames": [7]}, "typo.mp4": [1]}`), 0o644)
	f, err := ReadFramesFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if l := f.For("ds/sub/a.mp4", "a.mp4"); strings.Join(l.Times, " ") != "1.5 00:00:02.5 1e-05" || l.Frames != nil {
		t.Errorf("the dataset path wins: %+v", l)
	}
	if l := f.For("other/a.mp4", "a.mp4"); len(l.Frames) != 2 || l.Missing {
		t.Errorf("the bare name: %+v", l)
	}
	if l := f.For("x/b.mp4", "b.mp4"); len(l.Frames) != 1 || l.Frames[0] != 7 {
		t.Errorf("{frames: [...]}: %+v", l)
	}
	if l := f.For("c.mp4", "c.mp4"); !l.Missing || len(l.Frames)+len(l.Times) != 0 {
		t.Errorf("no entry: %+v", l)
	}
	if u := f.Unused(); strings.Join(u, ",") != "typo.mp4" {
		t.Errorf("unused: %v", u)
	}
	for text, want := range map[string]string{
		`[1, 2]`:                                   "want a JSON object",
		`{"a.mp4": [1, -1]}`:                       `entry "a.mp4"[1]: a frame index must be >= 0, got -1`,
		`{"a.mp4": {"times": ["1:61"]}}`:           `entry "a.mp4" .times: time "1:61": seconds must be below 60`,
		`{"a.mp4": {"frames": [1], "times": [2]}}`: "give frames or times, not both",
		`{"a.mp4": {"every": 2}}`:                  `unknown key "every"`,
		`{"a.mp4": "all"}`:                         "want a list of frame indices or",
		// a merged curated file: the second list would silently replace the first
		`{"a.mp4": [1], "b.mp4": [2], "a.mp4": [3]}`: `entry "a.mp4" is given twice`,
		`{"a.mp4": {"frames": [1], "frames": [2]}}`:  `entry "a.mp4": key "frames" is given twice`,
	} {
		os.WriteFile(p, []byte(text), 0o644)
		if _, err := ReadFramesFile(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", text, err, want)
		}
	}
}

// TestFramesFileShadowedName: a bare name whose every video has its own
// dataset-path entry matched videos; it is not reported as matching none (a
// misspelling), which is what Unused is for.
func TestFramesFileShadowedName(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(p, []byte(`{"ds/a.mp4": [1], "a.mp4": [2], "ds/typo.mp4": [3]}`), 0o644)
	f, err := ReadFramesFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if l := f.For("ds/a.mp4", "a.mp4"); len(l.Frames) != 1 || l.Frames[0] != 1 {
		t.Fatalf("the dataset path wins: %+v", l)
	}
	if u := f.Unused(); strings.Join(u, ",") != "ds/typo.mp4" {
		t.Errorf("unused: %v, want only ds/typo.mp4", u)
	}
}
