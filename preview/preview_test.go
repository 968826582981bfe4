package preview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/preview"
	localstore "github.com/vpipe/vpipe/stores/local"
	sv "github.com/vpipe/vpipe/supervisely"
)

// metaJSON has a class of every geometry; person's edge is in its template.
const metaJSON = `{"classes": [
 {"title": "car", "shape": "rectangle", "color": "#FF0000", "geometry_config": {}},
 {"title": "road", "shape": "polygon", "color": "#00FF00", "geometry_config": {}},
 {"title": "lane", "shape": "line", "color": "#0000FF", "geometry_config": {}},
 {"title": "wheel", "shape": "point", "color": "#FFFF00", "geometry_config": {}},
 {"title": "puddle", "shape": "bitmap", "color": "#00FFFF", "geometry_config": {}},
 {"title": "person", "shape": "graph", "color": "#FF00FF", "geometry_config": {"nodes": {"n1": {"label": "head", "loc": [0, 0]}, "n2": {"label": "foot", "loc": [0, 10]}}, "edges": [{"src": "n1", "dst": "n2"}]}}],
 "tags": [{"name": "weather", "value_type": "any_string", "color": "#0F0F0F"}, {"name": "object_id", "value_type": "any_number"}]}`

// dataset writes an image project by hand, as the layout has it.
type dataset struct {
	t    *testing.T
	root string
	mu   sync.Mutex
	dirs map[string]bool // folders made
}

func newDataset(t *testing.T) *dataset {
	d := &dataset{t: t, root: filepath.Join(t.TempDir(), "project"), dirs: map[string]bool{}}
	d.put("meta.json", []byte(metaJSON))
	return d
}

func (d *dataset) put(key string, b []byte) {
	d.t.Helper()
	p := filepath.Join(d.root, filepath.FromSlash(key))
	d.mu.Lock()
	if dir := filepath.Dir(p); !d.dirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			d.t.Error(err)
		}
		d.dirs[dir] = true
	}
	d.mu.Unlock()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		d.t.Error(err) // not Fatal: put runs on other goroutines too
	}
}

// image writes one frame: the image, its annotation (objects: JSON, "" for
// none) and meta (nil for none).
func (d *dataset) image(ds []string, name string, img []byte, w, h int, objects, tags string, meta map[string]any) {
	d.t.Helper()
	dir, err := project.DatasetKey(ds)
	if err != nil {
		d.t.Error(err)
		return
	}
	d.put(dir+"/img/"+name, img)
	if objects != "-" {
		d.put(dir+"/ann/"+name+".json", fmt.Appendf(nil, `{"description":"","size":{"height":%d,"width":%d},"tags":[%s],"objects":[%s],"customBigData":{}}`, h, w, tags, objects))
	}
	if meta != nil {
		b, _ := json.Marshal(meta)
		d.put(dir+"/meta/"+name+".json", b)
	}
}

// pngOf is a w×h PNG of one colour.
func pngOf(w, h int, c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []byte{c.R, c.G, c.B, c.A})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func rect(class string, l, t, r, b int, oid int) string {
	return fmt.Sprintf(`{"classTitle":%q,"description":"","tags":[{"name":"object_id","value":%d}],"points":{"exterior":[[%d,%d],[%d,%d]],"interior":[]},"geometryType":"rectangle","shape":"rectangle"}`, class, oid, l, t, r, b)
}

func maskData(t *testing.T, w, h int, on func(x, y int) bool) string {
	m := &sv.Mask{W: w, H: h, Bits: make([]bool, w*h)}
	for y := range h {
		for x := range w {
			m.Bits[y*w+x] = on(x, y)
		}
	}
	s, err := sv.EncodeMask(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// everyGeometry is the objects of one image with one label of each kind.
func everyGeometry(t *testing.T) string {
	bm := maskData(t, 4, 3, func(x, y int) bool { return x == y })
	return strings.Join([]string{
		`{"classTitle":"car","tags":[{"name":"object_id","value":7},{"name":"weather","value":"dry"}],"points":{"exterior":[[10,10],[40,30]],"interior":[]},"geometryType":"rectangle"}`,
		`{"classTitle":"road","tags":[],"points":{"exterior":[[0,40],[60,40],[60,80],[0,80]],"interior":[[[20,50],[40,50],[40,70],[20,70]]]},"geometryType":"polygon"}`,
		`{"classTitle":"lane","tags":[],"points":{"exterior":[[0,0],[50,50],[90,0]],"interior":[]},"geometryType":"line"}`,
		`{"classTitle":"wheel","tags":[],"points":{"exterior":[[5,6]],"interior":[]},"geometryType":"point"}`,
		`{"classTitle":"puddle","tags":[],"bitmap":{"origin":[70,60],"data":"` + bm + `"},"geometryType":"bitmap"}`,
		`{"classTitle":"person","tags":[],"nodes":{"n1":{"loc":[80,10]},"n2":{"loc":[80,40],"disabled":true}},"geometryType":"graph"}`,
		`{"classTitle":"sign","tags":[],"points":{"exterior":[[1,1],[5,5]],"interior":[]},"angle":0.5,"geometryType":"oriented_bbox"}`,
	}, ",")
}

// readSite reads the site's data back as JSON: data/index.js, and the rows
// of every chunk (data/page-NNN.js) in order.
func readSite(t *testing.T, site string) (map[string]any, []any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(site, "data/index.js"))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(b), "window.VPIPE_INDEX=")
	if !ok {
		t.Fatalf("data/index.js: %.80s", b)
	}
	var index map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSuffix(s, ";\n")), &index); err != nil {
		t.Fatalf("data/index.js: %v", err)
	}
	var rows []any
	for n := range int(index["chunks"].(float64)) {
		name := fmt.Sprintf("data/page-%03d.js", n)
		b, err := os.ReadFile(filepath.Join(site, name))
		if err != nil {
			t.Fatal(err)
		}
		s, ok := strings.CutPrefix(string(b), fmt.Sprintf("VPIPE_CHUNK(%d,", n))
		if !ok {
			t.Fatalf("%s: %.80s", name, b)
		}
		var chunk []any
		if err := json.Unmarshal([]byte(strings.TrimSuffix(s, ");\n")), &chunk); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows = append(rows, chunk...)
	}
	if n := int(index["images"].(float64)); n != len(rows) {
		t.Fatalf("index says %d images, the chunks hold %d", n, len(rows))
	}
	return index, rows
}

// thumbName is the name of an image's thumbnail: its size and the CRC-32 of
// its bytes (of its first and last 64 KB when it is larger than 128 KB).
func thumbName(name string, b []byte) string {
	h := crc32.NewIEEE()
	if len(b) <= 128<<10 {
		h.Write(b)
	} else {
		h.Write(b[:64<<10])
		h.Write(b[len(b)-64<<10:])
	}
	return fmt.Sprintf("%s.%d-%08x.jpg", name, len(b), h.Sum32())
}

func build(t *testing.T, root, site string) *preview.Summary {
	t.Helper()
	sum, err := preview.Build(context.Background(), localstore.New(root), preview.Options{Out: site, ImageBase: "../project/", Title: "project"})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestPreviewBuildEveryGeometryAndThumbnailsOnce(t *testing.T) {
	d := newDataset(t)
	grey := color.NRGBA{90, 90, 90, 255}
	d.image([]string{"train", "a.mp4"}, "a.mp4_frame_2.png", pngOf(100, 90, grey), 100, 90, everyGeometry(t), `{"name":"weather","value":"sunny"}`,
		map[string]any{"frame_index": 2, "time_s": 0.08, "pts": 2048, "video_name": "a.mp4"})
	d.image([]string{"train", "a.mp4"}, "a.mp4_frame_0.png", pngOf(600, 300, grey), 600, 300, "", "",
		map[string]any{"frame_index": 0, "time_s": 0, "pts": 0, "video_name": "a.mp4"})
	d.image([]string{"val", "b.mp4"}, "b.mp4_frame_9.png", pngOf(100, 90, grey), 100, 90, `{"classTitle":"car"`, "", nil) // broken annotation
	d.image([]string{"val", "b.mp4"}, "b.mp4_frame_1.png", pngOf(50, 40, grey), 0, 0, "-", "", nil)                       // no annotation, no meta
	site := filepath.Join(t.TempDir(), "site")
	sum := build(t, d.root, site)
	if sum.Images != 4 || sum.Videos != 2 || sum.Labels != 7 || sum.Unlabelled != 3 || sum.ThumbsMade != 4 || sum.ThumbsKept != 0 || sum.Problems != 1 {
		t.Errorf("summary %+v", sum)
	}
	data, imgs := readSite(t, site)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	// [name, dataset, split, folder, frames, first image, images, labelled, labels, labelled runs, unlabelled runs]
	if got := js(data["videos"]); got != `[["a.mp4",0,0,"train/datasets/a.mp4",3,0,2,1,7,[2,1,1],[0,1,1]],["b.mp4",1,1,"val/datasets/b.mp4",0,2,2,0,0,[],[]]]` {
		t.Errorf("videos %s", got)
	}
	if got := js(data["splits"]) + js(data["datasets"]); got != `["train","val"]["train","val"]` {
		t.Errorf("splits, datasets %s", got)
	}
	var names []string
	for _, im := range imgs {
		names = append(names, im.([]any)[0].(string))
	}
	// in frame order within a video (names in natural order: vpipe's names
	// hold the frame index)
	if got := strings.Join(names, " "); got != "a.mp4_frame_0.png a.mp4_frame_2.png b.mp4_frame_1.png b.mp4_frame_9.png" {
		t.Errorf("order %s", got)
	}
	labels := imgs[1].([]any)[8].([]any)
	var kinds []string
	for _, l := range labels {
		kinds = append(kinds, l.([]any)[1].(string))
	}
	if got := strings.Join(kinds, ""); got != "rplobgu" {
		t.Errorf("label kinds %s", got)
	}
	for i, want := range []string{
		`[0,"r",[10,10,40,30],7,[[0,"dry"]]]`,
		`[1,"p",[[0,40,60,40,60,80,0,80],[20,50,40,50,40,70,20,70]],null,0]`,
		`[2,"l",[0,0,50,50,90,0],null,0]`,
		`[3,"o",[5,6],null,0]`,
		`[5,"g",[["n1",80,10,0],["n2",80,40,1]],null,0]`,
		`[6,"u","oriented_bbox",null,0]`,
	} {
		k := []int{0, 1, 2, 3, 5, 6}[i]
		if got := js(labels[k]); got != want {
			t.Errorf("label %d: %s, want %s", k, got, want)
		}
	}
	if got := js(data["classes"].([]any)[5]) + js(data["classes"].([]any)[6]); got != `{"c":"#FF00FF","e":[["n1","n2"]],"s":"graph","t":"person"}{"c":"#808080","s":"any","t":"sign"}` {
		t.Errorf("graph class and the class meta.json lacks: %s", got)
	}
	// images with each class and labels of each; images with each tag; per
	// chunk, the classes and tags its images have
	if got := js(data["class_images"]) + js(data["class_labels"]) + js(data["tag_images"]) + js(data["chunk_classes"]) + js(data["chunk_tags"]); got != `[1,1,1,1,1,1,1][1,1,1,1,1,1,1][1][[0,1,2,3,4,5,6]][[0]]` {
		t.Errorf("counts %s", got)
	}
	checkMask(t, site, labels[4].([]any)[2].([]any))
	if got := js(imgs[1].([]any)[9]); got != `[[0,"sunny"]]` {
		t.Errorf("image tags %s", got)
	}
	if p := imgs[3].([]any)[10]; p == 0.0 || !strings.Contains(js(p), "b.mp4_frame_9.png.json") {
		t.Errorf("the broken annotation is not named on its image: %s", js(p))
	}
	if got := js(imgs[2].([]any)[5:7]); got != `[50,40]` {
		t.Errorf("an image without annotation gets its size from the image: %s", got)
	}
	checkThumb(t, filepath.Join(site, "thumbs/w256/train/datasets/a.mp4/"+thumbName("a.mp4_frame_0.png", pngOf(600, 300, grey))), 256, 128)
	checkThumb(t, filepath.Join(site, "thumbs/w256/train/datasets/a.mp4/"+thumbName("a.mp4_frame_2.png", pngOf(100, 90, grey))), 100, 90)
	if got, want := imgs[1].([]any)[7], strings.TrimSuffix(strings.TrimPrefix(thumbName("", pngOf(100, 90, grey)), "."), ".jpg"); got != want {
		t.Errorf("the thumbnail's key in the row: %v, want %s", got, want)
	}

	// again: every thumbnail is kept; an image whose bytes changed gets a new one
	if sum := build(t, d.root, site); sum.ThumbsMade != 0 || sum.ThumbsKept != 4 {
		t.Errorf("second build: %+v", sum)
	}
	d.put("val/datasets/b.mp4/img/b.mp4_frame_1.png", pngOf(50, 41, grey))
	if sum := build(t, d.root, site); sum.ThumbsMade != 1 || sum.ThumbsKept != 3 {
		t.Errorf("after one image changed: %+v", sum)
	}
}

// checkMask decodes a bitmap label's mask, a PNG file of the site: the
// diagonal of a 4x3 mask, set in the class's colour (cyan), clear elsewhere,
// at the bitmap's origin.
func checkMask(t *testing.T, site string, g []any) {
	t.Helper()
	if fmt.Sprint(g[:4]) != "[70 60 3 3]" { // trimmed to its set pixels, as the SDK does
		t.Errorf("bitmap origin and size %v", g[:4])
	}
	path, _ := g[4].(string)
	if !strings.HasPrefix(path, "masks/") || !strings.HasSuffix(path, ".png") {
		t.Fatalf("mask %v: want a file under masks/", g[4])
	}
	raw, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 3 {
		for x := range 3 {
			c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			want := color.NRGBA{}
			if x == y {
				want = color.NRGBA{0, 255, 255, 255}
			}
			if c != want {
				t.Errorf("mask pixel %d,%d: %v, want %v", x, y, c, want)
			}
		}
	}
}

func checkThumb(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := jpeg.DecodeConfig(f)
	if err != nil || c.Width != w || c.Height != h {
		t.Errorf("%s: %dx%d (%v), want %dx%d", path, c.Width, c.Height, err, w, h)
	}
}

// TestPreviewThumbnailOfSameSize: an image replaced by another of the same
// byte size (PNGs of noise stored uncompressed: their size depends only on
// their dimensions) gets a new thumbnail; the old one is not taken for it.
func TestPreviewThumbnailOfSameSize(t *testing.T) {
	noise := func(seed uint32, v byte) []byte {
		img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
		for i := range img.Pix {
			seed = seed*1664525 + 1013904223
			img.Pix[i] = byte(seed>>24)/2 + v
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		var b bytes.Buffer
		(&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&b, img)
		return b.Bytes()
	}
	dark, light := noise(1, 0), noise(2, 128)
	if len(dark) != len(light) || len(dark) <= 128<<10 {
		t.Fatalf("the two images are %d and %d bytes: want the same size, over 128 KB", len(dark), len(light))
	}
	d := newDataset(t)
	ds := []string{"ds0", "a.mp4"}
	d.image(ds, "a.mp4_frame_0.png", dark, 300, 200, "", "", nil)
	site := filepath.Join(t.TempDir(), "site")
	if sum := build(t, d.root, site); sum.ThumbsMade != 1 {
		t.Fatalf("first build: %+v", sum)
	}
	d.image(ds, "a.mp4_frame_0.png", light, 300, 200, "", "", nil)
	if sum := build(t, d.root, site); sum.ThumbsMade != 1 || sum.ThumbsKept != 0 {
		t.Fatalf("after the image changed at the same size: %+v", sum)
	}
	f, err := os.Open(filepath.Join(site, "thumbs/w256/ds0/datasets/a.mp4", thumbName("a.mp4_frame_0.png", light)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	th, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := th.At(100, 80).RGBA(); r>>8 < 150 {
		t.Errorf("the thumbnail is of the old, dark image: red %d", r>>8)
	}
	if sum := build(t, d.root, site); sum.ThumbsMade != 0 || sum.ThumbsKept != 1 {
		t.Errorf("unchanged: %+v", sum)
	}
}

// TestPreviewHostileMeta: a class colour that is not #RRGGBB is grey, with a
// warning naming the class; an image meta's time_s or pts that is not a
// JSON number is left out and named as the image's problem.
func TestPreviewHostileMeta(t *testing.T) {
	d := newDataset(t)
	d.put("meta.json", []byte(`{"classes":[{"title":"car","shape":"rectangle","color":"red\"><img src=x onerror=alert(1)>"},{"title":"bus","shape":"rectangle","color":"#00ff0A"}],"tags":[]}`))
	d.image([]string{"ds0", "a.mp4"}, "a.mp4_frame_0.png", pngOf(20, 10, color.NRGBA{1, 2, 3, 255}), 20, 10, rect("car", 1, 1, 5, 5, 1)+","+rect("bus", 1, 1, 5, 5, 2), "",
		map[string]any{"frame_index": 0, "time_s": "<img src=x onerror=alert(2)>", "pts": map[string]any{"x": 1}})
	var log bytes.Buffer
	site := filepath.Join(t.TempDir(), "site")
	if _, err := preview.Build(context.Background(), localstore.New(d.root), preview.Options{Out: site, Log: slog.New(slog.NewTextHandler(&log, nil))}); err != nil {
		t.Fatal(err)
	}
	index, rows := readSite(t, site)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got := js(index["classes"]); got != `[{"c":"#808080","s":"rectangle","t":"car"},{"c":"#00ff0A","s":"rectangle","t":"bus"}]` {
		t.Errorf("classes %s", got)
	}
	if !strings.Contains(log.String(), "class=car") || !strings.Contains(log.String(), "colour") {
		t.Errorf("no warning naming the class car:\n%s", log.String())
	}
	row := rows[0].([]any)
	if row[3] != nil || row[4] != nil {
		t.Errorf("time_s %v, pts %v: want null", row[3], row[4])
	}
	if p := js(row[10]); !strings.Contains(p, "time_s") || !strings.Contains(p, "pts") {
		t.Errorf("problems %s: want time_s and pts named", p)
	}
}
