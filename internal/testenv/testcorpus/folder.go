package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Small is a 1 s 128x72 H.264 clip (10 frames), for tests that need many videos.
var Small = Video{Name: "small", File: "small.mp4", Frames: 10, Exact: true, Steps: [][]string{
	args(lavfi("128x72", "10", "1"), s("-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "5", "-pix_fmt", "yuv420p", "{out}"))}}

// Folder makes a source folder under dir holding a copy of v at each relative
// path (sub-folders are datasets), and returns dir.
func Folder(t testing.TB, dir string, v Video, paths ...string) string {
	t.Helper()
	b, err := os.ReadFile(Path(t, v))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ManyVideos are the paths of Folder's nine-video source used by the shard and
// queue tests: three datasets, one nested, and one video at the top.
var ManyVideos = []string{"top.mp4", "a/v1.mp4", "a/v2.mp4", "a/v3.mp4", "a/v4.mp4", "b/v5.mp4", "b/v6.mp4", "b/sub/v7.mp4", "b/sub/v8.mp4"}
