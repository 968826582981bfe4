// Package sourcetest is the conformance suite every source passes: the same
// fixtures written to each backend must give the same videos, in the same
// order, under the same datasets, with the same annotations and provenance,
// and each video's bytes must read back exactly (through the ranged reader of
// a remote source). A backend's test file runs it with one Target.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
)

// Target is one source backend under test.
type Target struct {
	// Write puts files (slash-separated keys → bytes) under a fresh root and
	// returns the source over that root.
	Write func(t *testing.T, files map[string][]byte) core.Source
	// Plain says the backend holds a plain tree of videos (the platform holds
	// only projects).
	Plain bool
	// MissingAnnotation says a project video can lack its annotation file
	// (the platform always has one).
	MissingAnnotation bool
	// Remote says videos are read over the network: each Fetch reports the
	// bytes it fetched.
	Remote bool
	// ProjectProvenance are the provenance keys every project video must
	// carry beyond the common ones (e.g. the platform's video_id).
	ProjectProvenance []string
}

// Fixtures live in the repository's testdata.
var testdata = filepath.Join("..", "..", "testdata")

// Run runs every case against the backend newTarget makes (one per case).
func Run(t *testing.T, newTarget func(t *testing.T) *Target) {
	t.Run("PlainTreeOrder", func(t *testing.T) { plainTreeOrder(t, newTarget(t)) })
	t.Run("StableOrder", func(t *testing.T) { stableOrder(t, newTarget(t)) })
	t.Run("NestedProject", func(t *testing.T) { nestedProject(t, newTarget(t)) })
	t.Run("MissingAnnotation", func(t *testing.T) { missingAnnotation(t, newTarget(t)) })
	t.Run("RangedReads", func(t *testing.T) { rangedReads(t, newTarget(t)) })
}

// video is a real video's bytes (the bundled traffic clip).
func video(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "videos", "traffic.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// plainTree is a tree of videos with hidden entries, files that are not
// videos, and a file ("b-1.mp4") that sorts before the folder "b/" by key but
// after it by name: the walk is folder by folder, by name.
func plainTree(t *testing.T) map[string][]byte {
	v := video(t)
	return map[string][]byte{
		"top.mp4": v, "b/c.mp4": v, "b/d/e.MP4": v, "b-1.mp4": v, "a/x.mp4": v,
		".hidden/h.mp4": v, "b/.h.mp4": v, "notes.txt": []byte("notes"), "a/readme.md": []byte("#"),
	}
}

// plainWant is plainTree's videos in the order every source gives them.
var plainWant = []string{"a/x.mp4", "b/c.mp4", "b/d/e.MP4", "ds0/b-1.mp4", "ds0/top.mp4"}

func items(t *testing.T, src core.Source) []*core.Item {
	t.Helper()
	var out []*core.Item
	if err := src.Items(context.Background(), func(it *core.Item) error {
		out = append(out, it)
		return nil
	}); err != nil {
		t.Fatalf("%s: Items: %v", src.Describe(), err)
	}
	return out
}

func ids(its []*core.Item) []string {
	out := make([]string, len(its))
	for i, it := range its {
		out[i] = it.ID()
	}
	return out
}

func plainTreeOrder(t *testing.T, tg *Target) {
	if !tg.Plain {
		t.Skip("the backend holds projects only")
	}
	src := tg.Write(t, plainTree(t))
	its := items(t, src)
	if got := ids(its); !reflect.DeepEqual(got, plainWant) {
		t.Fatalf("%s: videos %q, want %q", src.Describe(), got, plainWant)
	}
	for _, it := range its {
		ds := it.Dataset[len(it.Dataset)-1]
		if it.Provenance["video_name"] != it.Name || it.Provenance["video_dataset_name"] != ds || it.Provenance["is_sample"] != true {
			t.Errorf("%s: provenance %v, want video_name %q, video_dataset_name %q, is_sample", it.ID(), it.Provenance, it.Name, ds)
		}
	}
	p, err := src.Project(context.Background())
	if err != nil || p.Meta != nil {
		t.Fatalf("%s: Project of a plain tree: %v, meta %v (want none)", src.Describe(), err, p)
	}
}

func stableOrder(t *testing.T, tg *Target) {
	files := projectFiles(t)
	if tg.Plain {
		files = plainTree(t)
	}
	src := tg.Write(t, files)
	first := ids(items(t, src))
	for i := 0; i < 3; i++ {
		if again := ids(items(t, src)); !reflect.DeepEqual(again, first) {
			t.Fatalf("%s: listing %d gave %q, the first %q", src.Describe(), i+2, again, first)
		}
	}
}

// projectFiles is the bundled Supervisely video project (nested datasets,
// key_id_map.json), with a second video in the nested dataset.
func projectFiles(t *testing.T) map[string][]byte {
	t.Helper()
	root := filepath.Join(testdata, "svproject")
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var projectWant = []string{"ds0/clip.mp4", "ds0/night/dark.mp4"}

func nestedProject(t *testing.T, tg *Target) {
	src := tg.Write(t, projectFiles(t))
	ctx := context.Background()
	p, err := src.Project(ctx)
	if err != nil {
		t.Fatalf("%s: Project: %v", src.Describe(), err)
	}
	if p.Meta == nil || len(p.Meta.Classes) == 0 {
		t.Fatalf("%s: Project meta %v: want the fixture's classes", src.Describe(), p.Meta)
	}
	its := items(t, src)
	if got := ids(its); !reflect.DeepEqual(got, projectWant) {
		t.Fatalf("%s: videos %q, want %q", src.Describe(), got, projectWant)
	}
	for _, it := range its {
		ann, err := it.LoadAnnotation(ctx)
		if err != nil {
			t.Fatalf("%s: annotation: %v", it.ID(), err)
		}
		if ann.FramesCount <= 0 || len(ann.Objects) == 0 {
			t.Errorf("%s: annotation with %d frames and %d objects: want the fixture's", it.ID(), ann.FramesCount, len(ann.Objects))
		}
		want := append([]string{"video_name", "video_dataset_name"}, tg.ProjectProvenance...)
		for _, k := range want {
			if _, ok := it.Provenance[k]; !ok {
				t.Errorf("%s: provenance %v lacks %s", it.ID(), it.Provenance, k)
			}
		}
		if it.Provenance["video_name"] != it.Name {
			t.Errorf("%s: provenance video_name %v", it.ID(), it.Provenance["video_name"])
		}
	}
	if len(its) == 2 && !reflect.DeepEqual(its[1].Dataset, []string{"ds0", "night"}) {
		t.Errorf("nested video's dataset %q, want [ds0 night]", its[1].Dataset)
	}
}

func missingAnnotation(t *testing.T, tg *Target) {
	if !tg.MissingAnnotation {
		t.Skip("every video of the backend has an annotation")
	}
	files := projectFiles(t)
	delete(files, "ds0/ann/clip.mp4.json")
	src := tg.Write(t, files)
	its := items(t, src)
	if got := ids(its); !reflect.DeepEqual(got, projectWant) {
		t.Fatalf("%s: videos %q, want %q (a video without annotation is still listed)", src.Describe(), got, projectWant)
	}
	_, err := its[0].LoadAnnotation(context.Background())
	if !errors.Is(err, core.ErrNoAnnotation) {
		t.Fatalf("%s: LoadAnnotation: %v, want core.ErrNoAnnotation", its[0].ID(), err)
	}
	if !strings.Contains(err.Error(), "clip.mp4") {
		t.Errorf("the error %q does not name the video's annotation", err)
	}
	if _, err := its[1].LoadAnnotation(context.Background()); err != nil {
		t.Errorf("%s: the other video's annotation: %v", its[1].ID(), err)
	}
}

// rangedReads reads each video's bytes the way FFmpeg does (from the start,
// then seeks to the end, the middle and back) and compares them with the file.
func rangedReads(t *testing.T, tg *Target) {
	want := video(t)
	files := projectFiles(t)
	if tg.Plain {
		files = map[string][]byte{"a/x.mp4": want}
	} else {
		want = files["ds0/video/clip.mp4"]
	}
	src := tg.Write(t, files)
	it := items(t, src)[0]
	ctx := context.Background()
	r, fetched := open(t, ctx, it)
	defer r.Close()
	n := int64(len(want))
	for _, at := range [][2]int64{{0, 4096}, {n - 1000, 1000}, {n / 2, min(20000, n-n/2)}, {8, 64}, {0, n}} {
		if _, err := r.Seek(at[0], io.SeekStart); err != nil {
			t.Fatalf("%s: seek to %d: %v", it.ID(), at[0], err)
		}
		got := make([]byte, at[1])
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("%s: read %d bytes at %d: %v", it.ID(), at[1], at[0], err)
		}
		if !bytes.Equal(got, want[at[0]:at[0]+at[1]]) {
			t.Fatalf("%s: %d bytes at %d differ from the file", it.ID(), at[1], at[0])
		}
	}
	if tg.Remote {
		if fetched == nil {
			t.Fatalf("%s: a remote video's input reports no bytes fetched", it.ID())
		}
		if f := fetched(); f < n || f > 3*n {
			t.Errorf("%s: %d bytes fetched for reads over a %d-byte video", it.ID(), f, n)
		}
	}
}

// readSeekCloser is a video opened for reading.
type readSeekCloser interface {
	io.ReadSeeker
	Close()
}

type fileInput struct{ *os.File }

func (f fileInput) Close() { f.File.Close() }

type fetchedInput struct {
	io.ReadSeeker
	release func()
}

func (f fetchedInput) Close() {
	if f.release != nil {
		f.release()
	}
}

// open gives what FFmpeg would read for it: the fetched input, or the file.
func open(t *testing.T, ctx context.Context, it *core.Item) (readSeekCloser, func() int64) {
	t.Helper()
	name := it.Open
	if it.Fetch != nil {
		in, err := it.Fetch(ctx)
		if err != nil {
			t.Fatalf("%s: Fetch: %v", it.ID(), err)
		}
		if in.Options.Input != nil {
			return fetchedInput{in.Options.Input, in.Release}, in.Fetched
		}
		name = in.Open
		if in.Release != nil {
			t.Cleanup(in.Release)
		}
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("%s: open %s: %v (a source without an input of its own opens a file)", it.ID(), name, err)
	}
	return fileInput{f}, nil
}
