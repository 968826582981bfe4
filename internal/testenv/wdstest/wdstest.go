// Package wdstest helps run the layout suite (sinks/sinktest) on the
// WebDataset layout: it reads shards back, with archive/tar and
// encoding/json rather than the layout's own code, into the tree the
// project layout would hold for the same images, so the suite's checks apply
// unchanged; and it maps the suite's faults on a project file (a blocked
// write, a removed annotation) to the WebDataset object that holds it.
package wdstest

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/layouts/webdataset"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// Project reads a store tree written by the WebDataset layout (every object,
// hidden ones included: key → bytes) as the project layout's tree of the same
// images: meta.json and custom_data.json as they are, each dataset's custom
// data at <dataset dir>/custom_data.json, and every whole sample of every
// shard as <dataset dir>/img/<name>, ann/<name>.json and meta/<name>.json,
// where a dataset dir is its names joined by /datasets/. Staged samples,
// manifests and indexes are left out: a reader sees shards only.
func Project(t testing.TB, tree map[string][]byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for k, b := range tree {
		switch {
		case k == "meta.json" || k == "custom_data.json":
			out[k] = b
		case strings.HasPrefix(k, ".vpipe/datasets/") && strings.HasSuffix(k, "/custom_data.json"):
			dir := strings.TrimSuffix(strings.TrimPrefix(k, ".vpipe/datasets/"), "/custom_data.json")
			out[datasetDir(t, strings.Split(dir, "/"))+"/custom_data.json"] = b
		case isShard(k):
			for _, s := range Samples(t, k, b) {
				out[s.Dir+"/img/"+s.Name] = s.Image
				out[s.Dir+"/ann/"+s.Name+".json"] = s.Annotation
				out[s.Dir+"/meta/"+s.Name+".json"] = s.Meta
			}
		}
	}
	return out
}

func isShard(k string) bool {
	i := strings.LastIndexByte(k, '/')
	return i > 0 && strings.HasPrefix(k[i+1:], "shard-") && strings.HasSuffix(k, ".tar") && !strings.Contains(k, "/.")
}

func datasetDir(t testing.TB, escaped []string) string {
	t.Helper()
	names := make([]string, len(escaped))
	for i, e := range escaped {
		n, err := webdataset.Unescape(e)
		if err != nil {
			t.Fatalf("dataset key %q: %v", strings.Join(escaped, "/"), err)
		}
		names[i] = n
	}
	return strings.Join(names, "/datasets/")
}

// Sample is one sample read back from a shard.
type Sample struct {
	Key, Ext, Name string
	Dir            string // the project layout's dataset dir
	Image          []byte
	JSON           []byte // the .json member
	Annotation     []byte
	Meta           []byte
}

// Samples reads the whole samples of a shard: an image member and the .json
// member of the same key, in that order. A key holding a dot, a sample
// whose JSON does not parse, or members that do not pair fail the test;
// a shard cut short ends at the cut (what a reader of a damaged shard gets).
func Samples(t testing.TB, name string, shard []byte) []Sample {
	t.Helper()
	var out []Sample
	tr := tar.NewReader(bytes.NewReader(shard))
	var img *Sample
	for {
		h, err := tr.Next()
		if err != nil {
			return out // io.EOF, or a shard cut short
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return out
		}
		key, ext, _ := strings.Cut(h.Name, ".")
		if strings.Contains(ext, ".") {
			t.Fatalf("%s: member %s: its key would hold a dot", name, h.Name)
		}
		if ext != "json" {
			img = &Sample{Key: key, Ext: ext, Image: data}
			continue
		}
		if img == nil || img.Key != key {
			img = nil
			continue // a sample whose image was lost
		}
		img.JSON = data
		var js struct {
			Name, Dataset, Video string
			Meta                 json.RawMessage
			Annotation           json.RawMessage
		}
		if err := json.Unmarshal(data, &js); err != nil {
			t.Fatalf("%s: %s: %v", name, h.Name, err)
		}
		ds := []string{js.Video}
		if js.Dataset != "" {
			ds = append(strings.Split(js.Dataset, "/"), js.Video)
		}
		img.Name, img.Dir, img.Annotation, img.Meta = js.Name, strings.Join(ds, "/datasets/"), js.Annotation, js.Meta
		out = append(out, *img)
		img = nil
	}
}

// Locate parses a path of the project layout (<dir>/img/<name>,
// <dir>/ann/<name>.json, <dir>/meta/<name>.json) into the dataset path, the
// image name and the part (img, ann or meta).
func Locate(t testing.TB, path string) (dataset []string, name, part string) {
	t.Helper()
	segs := strings.Split(path, "/")
	if len(segs) < 3 || len(segs)%2 == 0 {
		t.Fatalf("%s: not a project layout path", path)
	}
	part, name = segs[len(segs)-2], segs[len(segs)-1]
	if part != "img" {
		name = strings.TrimSuffix(name, ".json")
	}
	for i, s := range segs[:len(segs)-2] {
		if i%2 == 0 {
			dataset = append(dataset, s)
		} else if s != "datasets" {
			t.Fatalf("%s: not a project layout path", path)
		}
	}
	return dataset, name, part
}

// StagingFolder is the folder a sample's staged objects are put in (a file
// there makes every Put of the sample fail on a folder store).
func StagingFolder(t testing.TB, split, path string) string {
	t.Helper()
	ds, name, _ := Locate(t, path)
	key, _, err := webdataset.SampleKey(ds, name)
	if err != nil {
		t.Fatal(err)
	}
	return split + "/.vpipe/staging/" + key
}

// DropMember finds the shard holding the member of a project path's image
// (its image for img/, its .json for ann/ and meta/, which one member
// holds) and returns the shard's key and its bytes without that member,
// written again with archive/tar, as an edit by hand would leave it.
func DropMember(t testing.TB, tree map[string][]byte, split, path string) (string, []byte) {
	t.Helper()
	ds, name, part := Locate(t, path)
	key, ext, err := webdataset.SampleKey(ds, name)
	if err != nil {
		t.Fatal(err)
	}
	member := key + "." + ext
	if part != "img" {
		member = key + ".json"
	}
	var shards []string
	for k := range tree {
		if strings.HasPrefix(k, split+"/") && isShard(k) {
			shards = append(shards, k)
		}
	}
	sort.Strings(shards)
	for _, k := range shards {
		if b, ok := without(t, tree[k], member); ok {
			return k, b
		}
	}
	t.Fatalf("no shard of %s holds %s", split, member)
	return "", nil
}

func without(t testing.TB, shard []byte, member string) ([]byte, bool) {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(shard))
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == member {
			found = true
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), found
}

// Keys lists the members' names of a shard, in order.
func Keys(t testing.TB, shard []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(shard))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(fmt.Errorf("reading a shard: %w", err))
		}
		out = append(out, h.Name)
	}
}

// Published is what readers of a layout's tree see: the shards, indexes and
// the root's files, without the layout's own bookkeeping (.vpipe/).
func Published(tree map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, b := range tree {
		if !strings.Contains(k, "/.vpipe/") && !strings.HasPrefix(k, ".vpipe/") {
			out[k] = b
		}
	}
	return out
}

// SameTree fails the test unless two trees hold the same keys with the same
// bytes (want must not be empty).
func SameTree(t testing.TB, got, want map[string][]byte) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("the reference tree is empty")
	}
	for k, b := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s missing", k)
		} else if !bytes.Equal(g, b) {
			t.Errorf("%s: %d bytes differ from the reference's %d", k, len(g), len(b))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not in the reference", k)
		}
	}
}

// ReadDir reads every file under root, hidden ones included, but not the
// store's temporaries and lock files.
func ReadDir(t testing.TB, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), localstore.TmpPrefix) || strings.HasPrefix(d.Name(), localstore.LockPrefix) {
			return nil
		}
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}
