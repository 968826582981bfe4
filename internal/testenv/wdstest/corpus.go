package wdstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
)

// Video is one video of the test corpus: its source dataset, name and the
// frames sampled.
type Video struct {
	Dataset []string
	Name    string
	Frames  []int
}

// Corpus is videos in nested datasets, names with dots and underscores,
// frames not evenly spaced: 27 images.
var Corpus = []Video{
	{[]string{"ds0"}, "a.mp4", []int{0, 7, 14, 21, 28}},
	{[]string{"ds0"}, "b_1.mp4", []int{3, 4, 5}},
	{[]string{"ds0", "child"}, "c.v2.mp4", []int{10, 20, 30, 40}},
	{[]string{"ds0-extra"}, "d.mov", []int{1, 2, 3, 4, 5, 6}},
	{[]string{"ds1"}, "e.mkv", []int{0, 100, 200, 300, 400, 500, 600, 700, 800}},
}

// Images makes the images of videos: PNGs of w×h whose pixels depend on the
// video and frame, and annotations with "car" and "person" rectangles.
func Images(t testing.TB, videos []Video, w, h int) []*core.Image {
	t.Helper()
	var out []*core.Image
	for vi, v := range videos {
		for _, f := range v.Frames {
			out = append(out, frameImage(t, v, vi, f, w, h))
		}
	}
	return out
}

func frameImage(t testing.TB, v Video, vi, f, w, h int) *core.Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x*7 + f), uint8(y*5 + vi*40), uint8(f * 3), 255}
			if w > 32 { // large images are noise: they do not compress
				c.R, c.G, c.B = uint8(rand.Intn(256)), uint8(rand.Intn(256)), uint8(rand.Intn(256))
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	var objs []string
	for i := 0; i < f%3; i++ {
		objs = append(objs, fmt.Sprintf(`{"id":%d,"classTitle":"car","geometryType":"rectangle","tags":[],"points":{"exterior":[[%d,1],[%d,3]],"interior":[]}}`, i, i, i+2))
	}
	if vi%2 == 1 {
		objs = append(objs, `{"id":9,"classTitle":"person","geometryType":"rectangle","tags":[],"points":{"exterior":[[0,0],[2,2]],"interior":[]}}`)
	}
	ann := fmt.Sprintf(`{"description":"","size":{"height":%d,"width":%d},"tags":[],"objects":[%s],"customBigData":{}}`, h, w, strings.Join(objs, ","))
	return &core.Image{
		Dataset: append(append([]string{}, v.Dataset...), v.Name),
		Name:    fmt.Sprintf("%s_frame_%03d.png", v.Name, f),
		Data:    b.Bytes(),
		Ann:     json.RawMessage(ann),
		Meta: map[string]any{"frame_index": f, "pts": int64(f) * 512, "time_s": float64(f) / 25,
			"video_name": v.Name, "frames_count": 1000},
	}
}

// PutAll puts images from workers goroutines, in the order given (split
// among the workers, so they arrive interleaved).
func PutAll(t testing.TB, s core.Sink, imgs []*core.Image, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(imgs))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(imgs); i += workers {
				if err := s.Put(context.Background(), imgs[i]); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Shuffled is imgs in an order drawn from seed.
func Shuffled(imgs []*core.Image, seed int64) []*core.Image {
	out := append([]*core.Image{}, imgs...)
	rand.New(rand.NewSource(seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
