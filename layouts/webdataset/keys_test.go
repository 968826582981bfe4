package webdataset_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/layouts/webdataset"
)

// A key holds no dot, percent-decodes (as Python's unquote does) to the
// dataset path and image name it was made from, and two different images
// never share one: names that the readable "." → "_" would have merged
// ("a.mp4" and "a_mp4") stay apart.
func TestSampleKey(t *testing.T) {
	cases := []struct {
		dataset []string
		name    string
		key     string
		ext     string
	}{
		{[]string{"ds0", "child", "a.mp4"}, "a.mp4_frame_000123.png", "ds0/child/a%2Emp4/a%2Emp4_frame_000123", "png"},
		{[]string{"ds0", "a_mp4"}, "a_mp4_frame_1.jpg", "ds0/a_mp4/a_mp4_frame_1", "jpg"},
		{[]string{"v1.0", "100%.mp4"}, "x.y.webp", "v1%2E0/100%25%2Emp4/x%2Ey", "webp"},
		{[]string{"ds0", "a%2Emp4"}, "f.jpeg", "ds0/a%252Emp4/f", "jpeg"},
		{[]string{"données", "clip ü.mov"}, "clip ü.mov_frame_7.png", "données/clip ü%2Emov/clip ü%2Emov_frame_7", "png"},
	}
	seen := map[string]string{}
	for _, c := range cases {
		key, ext, err := webdataset.SampleKey(c.dataset, c.name)
		if err != nil || key != c.key || ext != c.ext {
			t.Errorf("SampleKey(%q, %q) = %q, %q, %v; want %q, %q", c.dataset, c.name, key, ext, err, c.key, c.ext)
			continue
		}
		if strings.Contains(key, ".") {
			t.Errorf("key %q holds a dot", key)
		}
		want := strings.Join(append(append([]string{}, c.dataset...), strings.TrimSuffix(c.name, "."+c.ext)), "/")
		if got, err := url.PathUnescape(key); err != nil || got != want {
			t.Errorf("unquote(%q) = %q, %v; want %q", key, got, err, want)
		}
		ds, stem, err := webdataset.ParseKey(key)
		if err != nil || strings.Join(ds, "/") != strings.Join(c.dataset, "/") || stem+"."+ext != c.name {
			t.Errorf("ParseKey(%q) = %q, %q, %v", key, ds, stem, err)
		}
		if prev, ok := seen[key]; ok {
			t.Errorf("%q and %q share key %q", prev, c.name, key)
		}
		seen[key] = c.name
	}
	a, _, _ := webdataset.SampleKey([]string{"ds0", "a.mp4"}, "f.png")
	b, _, _ := webdataset.SampleKey([]string{"ds0", "a_mp4"}, "f.png")
	if a == b {
		t.Errorf("a.mp4 and a_mp4 share key %q", a)
	}
}

// Escape is injective: every pair of distinct names of a set that crowds
// the escaped characters gets distinct segments, each undone by Unescape.
func TestEscapeInjective(t *testing.T) {
	alphabet := []string{"", ".", "%", "2", "E", "5", "_", "a"}
	var names []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		names = append(names, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet[1:] {
			grow(prefix+c, n-1)
		}
	}
	grow("", 4)
	seen := map[string]string{}
	for _, n := range names {
		e := webdataset.Escape(n)
		if strings.Contains(e, ".") {
			t.Fatalf("Escape(%q) = %q holds a dot", n, e)
		}
		if back, err := webdataset.Unescape(e); err != nil || back != n {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", n, back, err)
		}
		if prev, ok := seen[e]; ok && prev != n {
			t.Fatalf("%q and %q both escape to %q", prev, n, e)
		}
		seen[e] = n
	}
	if len(seen) < 2801 {
		t.Fatalf("only %d names tried", len(seen))
	}
	for _, bad := range []string{"a.b", "%", "%2", "%2F", "%41"} {
		if _, err := webdataset.Unescape(bad); err == nil {
			t.Errorf("Unescape(%q) accepted a segment Escape cannot make", bad)
		}
	}
}

// Names the layout cannot key are refused: not an image extension, a
// path-like name, an empty dataset path.
func TestSampleKeyRefused(t *testing.T) {
	for _, c := range []struct {
		dataset []string
		name    string
	}{
		{[]string{"ds0", "a.mp4"}, "f.bmp"},
		{[]string{"ds0", "a.mp4"}, "f.PNG"},
		{[]string{"ds0", "a.mp4"}, ".png"},
		{[]string{"ds0", "a.mp4"}, "a/b.png"},
		{[]string{"..", "a.mp4"}, "f.png"},
		{nil, "f.png"},
	} {
		if k, _, err := webdataset.SampleKey(c.dataset, c.name); err == nil {
			t.Errorf("SampleKey(%q, %q) = %q, want an error", c.dataset, c.name, k)
		}
	}
}
