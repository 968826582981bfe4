// Package svframes makes the image annotations of the bundled annotated
// project (testdata/svproject) as vpipe's sampler does, for the format
// tests: the labelled frames of clip.mp4 (every geometry type: rectangle,
// polygon with and without holes, line, point, bitmap, graph with a disabled
// node, oriented_bbox, and labels crossing the border), the same frames
// scaled to half size, and frames of dark.mp4 in a nested dataset.
package svframes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

// Frame is one image: where it goes and what it carries.
type Frame struct {
	Dataset []string // destination dataset: source dataset path + video
	Name    string
	Ann     json.RawMessage // the image annotation (§6.1), as the sampler makes it
	Meta    map[string]any  // what the runner gives an image
}

// Root is the repository's root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Meta is the output meta of the project (its classes, plus object_id and
// auto-tracked, as vpipe's sinks merge it).
func Meta(t testing.TB) *sv.ProjectMeta {
	t.Helper()
	var m sv.ProjectMeta
	b, err := os.ReadFile(filepath.Join(Root(), "testdata/svproject/meta.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := sv.OutputMeta(nil, &m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type video struct {
	ann        string
	dataset    []string
	name       string // destination video name
	srcW, srcH int
	w, h       int
	frames     []int
}

var videos = []video{
	{"ds0/ann/clip.mp4.json", []string{"ds0"}, "clip.mp4", 200, 100, 200, 100, []int{0, 3, 7, 12, 25}},
	{"ds0/ann/clip.mp4.json", []string{"ds0"}, "clip_half.mp4", 200, 100, 100, 50, []int{3, 7}},
	{"ds0/datasets/night/ann/dark.mp4.json", []string{"ds0", "night"}, "dark.mp4", 128, 72, 128, 72, []int{0, 4, 8, 16}},
}

// Frames are the project's images.
func Frames(t testing.TB) []Frame {
	t.Helper()
	meta := Meta(t)
	var out []Frame
	for _, v := range videos {
		b, err := os.ReadFile(filepath.Join(Root(), "testdata/svproject", v.ann))
		if err != nil {
			t.Fatal(err)
		}
		ann, err := sv.ParseVideoAnnotation(b)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: ann.FramesCount, Width: v.srcW, Height: v.srcH}, crop.GEOS{})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range v.frames {
			a, _, err := s.Image(i, v.w, v.h)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, Frame{
				Dataset: append(append([]string{}, v.dataset...), v.name),
				Name:    fmt.Sprintf("%s_frame_%03d.png", v.name, i),
				Ann:     raw,
				Meta:    map[string]any{"video_name": v.name, "frame_index": i, "pts": i * 512, "time_s": float64(i) / 25},
			})
		}
	}
	return out
}
