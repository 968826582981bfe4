package webdataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/layouts/webdataset"
	"github.com/vpipe/vpipe/store"
	localstore "github.com/vpipe/vpipe/stores/local"
)

var ctx = context.Background()

// video is one video of the test corpus: its source dataset, name and the
// frames sampled.
type video struct {
	dataset []string
	name    string
	frames  []int
}

// corpus is videos in nested datasets, names with dots and underscores,
// frames not evenly spaced: 27 images.
var corpus = []video{
	{[]string{"ds0"}, "a.mp4", []int{0, 7, 14, 21, 28}},
	{[]string{"ds0"}, "b_1.mp4", []int{3, 4, 5}},
	{[]string{"ds0", "child"}, "c.v2.mp4", []int{10, 20, 30, 40}},
	{[]string{"ds0-extra"}, "d.mov", []int{1, 2, 3, 4, 5, 6}},
	{[]string{"ds1"}, "e.mkv", []int{0, 100, 200, 300, 400, 500, 600, 700, 800}},
}

// images makes the images of videos: PNGs of w×h whose pixels depend on the
// video and frame, and annotations with "car" and "person" rectangles.
func images(t testing.TB, videos []video, w, h int) []*core.Image {
	t.Helper()
	var out []*core.Image
	for vi, v := range videos {
		for _, f := range v.frames {
			out = append(out, frameImage(t, v, vi, f, w, h))
		}
	}
	return out
}

func frameImage(t testing.TB, v video, vi, f, w, h int) *core.Image {
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
		Dataset: append(append([]string{}, v.dataset...), v.name),
		Name:    fmt.Sprintf("%s_frame_%03d.png", v.name, f),
		Data:    b.Bytes(),
		Ann:     json.RawMessage(ann),
		Meta: map[string]any{"frame_index": f, "pts": int64(f) * 512, "time_s": float64(f) / 25,
			"video_name": v.name, "frames_count": 1000},
	}
}

// putAll puts images from workers goroutines, in the order given (split
// among the workers, so they arrive interleaved).
func putAll(t testing.TB, s core.Sink, imgs []*core.Image, workers int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(imgs))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(imgs); i += workers {
				if err := s.Put(ctx, imgs[i]); err != nil {
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

func shuffled(imgs []*core.Image, seed int64) []*core.Image {
	out := append([]*core.Image{}, imgs...)
	rand.New(rand.NewSource(seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func closeSink(t testing.TB, s core.Sink) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// published is what readers of a root see: shards and indexes (and the
// root's files), every other object left out.
func published(t testing.TB, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for k, b := range readAll(t.(*testing.T), root) {
		if !strings.Contains(k, "/.vpipe/") && !strings.HasPrefix(k, ".vpipe/") {
			out[k] = b
		}
	}
	return out
}

// sameTree fails unless two trees hold the same keys with the same bytes.
func sameTree(t testing.TB, got, want map[string][]byte) {
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

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newSink opens a sink on st as a writer among others (shards) and begins
// it (meta.json is the empty project meta).
func newSink(t testing.TB, st store.Store, o webdataset.Options) *webdataset.Sink {
	t.Helper()
	s := webdataset.New(st, o)
	s.SetWriter(core.Writer{Role: "test", Shared: true})
	if _, err := s.Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// reference writes imgs in one plain run (in order, one writer) to a fresh
// folder and returns what readers see there.
func reference(t *testing.T, o webdataset.Options, imgs []*core.Image) map[string][]byte {
	t.Helper()
	root := t.TempDir()
	s := newSink(t, localstore.New(root), o)
	putAll(t, s, imgs, 1)
	closeSink(t, s)
	return published(t, root)
}

// counting counts what is written through a store: Puts per key, Update
// calls that wrote, keys deleted.
type counting struct {
	store.Store
	mu      sync.Mutex
	puts    map[string]int
	updates map[string]int
	deletes []string
}

func countWrites(st store.Store) *counting {
	return &counting{Store: st, puts: map[string]int{}, updates: map[string]int{}}
}

func (c *counting) Put(ctx context.Context, key string, data []byte) error {
	c.mu.Lock()
	c.puts[key]++
	c.mu.Unlock()
	return c.Store.Put(ctx, key, data)
}

func (c *counting) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	return c.Store.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		b, err := fn(old, exists)
		if err == nil && b != nil {
			c.mu.Lock()
			c.updates[key]++
			c.mu.Unlock()
		}
		return b, err
	})
}

func (c *counting) Delete(ctx context.Context, keys ...string) error {
	c.mu.Lock()
	c.deletes = append(c.deletes, keys...)
	c.mu.Unlock()
	return c.Store.Delete(ctx, keys...)
}

// shardPuts are the shards (split/name) put, sorted.
func (c *counting) shardPuts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k := range c.puts {
		if strings.Contains(k, "/shard-") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// existing lists, per destination dataset of imgs, the names a sink has.
func existing(t testing.TB, s core.Sink, imgs []*core.Image) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	done := map[string]bool{}
	for _, img := range imgs {
		d := strings.Join(img.Dataset, "/")
		if done[d] {
			continue
		}
		done[d] = true
		have, err := s.Existing(ctx, img.Dataset)
		if err != nil {
			t.Fatal(err)
		}
		for n := range have {
			out[d+"/"+n] = true
		}
	}
	return out
}

// missing are the images of imgs a sink does not have (what a re-run puts).
func missing(t testing.TB, s core.Sink, imgs []*core.Image) []*core.Image {
	t.Helper()
	have := existing(t, s, imgs)
	var out []*core.Image
	for _, img := range imgs {
		if !have[strings.Join(img.Dataset, "/")+"/"+img.Name] {
			out = append(out, img)
		}
	}
	return out
}
