package webdataset_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// need skips a test whose outside reader is missing, or fails it under CI,
// where scripts/setup-tests.sh installed it.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is needed under CI: %v", what, err)
	}
	t.Skipf("skipped, %s is missing: %v", what, err)
}

// python is Debian's Python (its tarfile, json and zlib are the readers).
func python(t *testing.T) string {
	p := "/usr/bin/python3"
	_, err := os.Stat(p)
	need(t, "Debian's python3", err)
	return p
}

// hyparquet is the folder of the npm package scripts/setup-tests.sh
// installs: $VPIPE_HYPARQUET, else ~/.cache/vpipe-tools/hyparquet/node_modules/hyparquet.
func hyparquet(t *testing.T) (node, dir string) {
	dir = os.Getenv("VPIPE_HYPARQUET")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "vpipe-tools", "hyparquet", "node_modules", "hyparquet")
	}
	_, err := os.Stat(filepath.Join(dir, "package.json"))
	if err != nil {
		err = &os.PathError{Op: "hyparquet 1.31.5 (run scripts/setup-tests.sh, or set VPIPE_HYPARQUET)", Path: dir, Err: err}
	}
	need(t, "hyparquet", err)
	node, err = exec.LookPath("node")
	need(t, "node", err)
	return node, dir
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// written makes a split on disk from the wdstest.Corpus and returns its folder and
// the images by key.
func written(t *testing.T) (string, map[string]*core.Image) {
	root := t.TempDir()
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	s := newSink(t, localstore.New(root), webdataset.Options{ShardSize: 5})
	wdstest.PutAll(t, s, wdstest.Shuffled(imgs, 7), 3)
	closeSink(t, s)
	byKey := map[string]*core.Image{}
	for _, img := range imgs {
		k, _, err := webdataset.SampleKey(img.Dataset, img.Name)
		if err != nil {
			t.Fatal(err)
		}
		byKey[k] = img
	}
	return filepath.Join(root, "train"), byKey
}

func labels(t *testing.T, img *core.Image) map[string]float64 {
	var a struct {
		Objects []struct{ ClassTitle string }
	}
	if err := json.Unmarshal(img.Ann, &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, o := range a.Objects {
		out[o.ClassTitle]++
	}
	return out
}

func jsonEq(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	var u, v any
	json.Unmarshal(x, &u)
	json.Unmarshal(y, &v)
	x, _ = json.Marshal(u)
	y, _ = json.Marshal(v)
	return bytes.Equal(x, y)
}

// Python's tarfile reads every shard: members in image/json pairs whose key
// (up to the first dot, as WebDataset cuts it) is the sample's, fixed
// headers, JSON that parses to the image's name, dataset, video, meta and
// annotation, and PNGs that decode to the annotation's size.
func TestShardsReadByPython(t *testing.T) {
	py := python(t)
	dir, byKey := written(t)
	var got []struct {
		Shard, Key, Ext, Name, Dataset, Video string
		FrameIndex                            any `json:"frame_index"`
		PTS                                   any
		TimeS                                 any `json:"time_s"`
		Meta                                  map[string]any
		PNGWidth                              int `json:"png_width"`
		PNGHeight                             int `json:"png_height"`
		AnnWidth                              int `json:"ann_width"`
		AnnHeight                             int `json:"ann_height"`
		Labels                                map[string]float64
	}
	if err := json.Unmarshal(run(t, py, "testdata/read_shards.py", dir), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(byKey) {
		t.Fatalf("python read %d samples, want %d", len(got), len(byKey))
	}
	for i, s := range got {
		img := byKey[s.Key]
		if img == nil {
			t.Fatalf("sample %d: key %q is no image's", i, s.Key)
		}
		n := len(img.Dataset)
		want := []any{img.Name, strings.Join(img.Dataset[:n-1], "/"), img.Dataset[n-1], img.Meta["frame_index"], img.Meta["pts"], img.Meta["time_s"], img.Meta, 8, 6, labels(t, img)}
		have := []any{s.Name, s.Dataset, s.Video, s.FrameIndex, s.PTS, s.TimeS, s.Meta, s.PNGWidth, s.PNGHeight, s.Labels}
		if !jsonEq(have, want) || s.AnnWidth != 8 || s.AnnHeight != 6 || s.Ext != "png" {
			t.Errorf("sample %s read as %v, want %v", s.Key, have, want)
		}
		if wantShard := webdataset.ShardName(i / 5); s.Shard != wantShard {
			t.Errorf("sample %d (%s) in %s, want %s", i, s.Key, s.Shard, wantShard)
		}
	}
}

// hyparquet (JavaScript) reads index.parquet: a row per sample in shard
// order, whose offset and size locate the sample's members in its shard, and
// whose columns are the image's.
func TestIndexReadByHyparquet(t *testing.T) {
	node, lib := hyparquet(t)
	dir, byKey := written(t)
	var rows []struct {
		Key, Shard, Name, Dataset, Video string
		Offset, Size                     int64
		FrameIndex                       *int64   `json:"frame_index"`
		PTS                              *int64   `json:"pts"`
		TimeS                            *float64 `json:"time_s"`
		Width, Height                    int
		Labels                           []struct {
			Class string
			Count int
		}
	}
	if err := json.Unmarshal(run(t, node, "testdata/read_index.mjs", lib, filepath.Join(dir, "index.parquet")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(byKey) {
		t.Fatalf("hyparquet read %d rows, want %d", len(rows), len(byKey))
	}
	shards := map[string][]byte{}
	for i, r := range rows {
		img := byKey[r.Key]
		if img == nil {
			t.Fatalf("row %d: key %q is no image's", i, r.Key)
		}
		if shards[r.Shard] == nil {
			b, err := os.ReadFile(filepath.Join(dir, r.Shard))
			if err != nil {
				t.Fatal(err)
			}
			shards[r.Shard] = b
		}
		b := shards[r.Shard]
		if r.Offset < 0 || r.Offset+r.Size > int64(len(b)) || !bytes.HasPrefix(b[r.Offset:], []byte(r.Key+".png\x00")) {
			t.Errorf("row %s: offset %d, size %d do not locate its members in %s", r.Key, r.Offset, r.Size, r.Shard)
		}
		got := map[string]float64{}
		classes := []string{}
		for _, l := range r.Labels {
			got[l.Class] = float64(l.Count)
			classes = append(classes, l.Class)
		}
		if !sort.StringsAreSorted(classes) {
			t.Errorf("row %s: label classes not in order: %v", r.Key, classes)
		}
		n := len(img.Dataset)
		want := []any{img.Name, strings.Join(img.Dataset[:n-1], "/"), img.Dataset[n-1], img.Meta["frame_index"], img.Meta["pts"], img.Meta["time_s"], 8, 6, labels(t, img)}
		have := []any{r.Name, r.Dataset, r.Video, r.FrameIndex, r.PTS, r.TimeS, r.Width, r.Height, got}
		if !jsonEq(have, want) {
			t.Errorf("row %s: %v, want %v", r.Key, have, want)
		}
		if wantShard := webdataset.ShardName(i / 5); r.Shard != wantShard {
			t.Errorf("row %d (%s) in %s, want %s", i, r.Key, r.Shard, wantShard)
		}
	}
}
