package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
	localsink "github.com/vpipe/vpipe/sinks/local"
	localsrc "github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/stages"
	localstore "github.com/vpipe/vpipe/stores/local"
	"github.com/vpipe/vpipe/verify"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// load is the bundled pipeline.yaml with sets, writing into a new folder.
func load(t *testing.T, sets ...string) *config.Config {
	t.Helper()
	all := append([]string{"source.path=../testdata/videos", "sink.path=" + t.TempDir()}, sets...)
	c, err := config.Load("../pipeline.yaml", all, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// annotated is the README's annotated example: the project fixture's
// annotated frames, 300 px wide.
func annotated(t *testing.T, sets ...string) *config.Config {
	return load(t, append([]string{"source.path=../testdata/svproject", "sampling.only_annotated=true",
		"sampling.step=1", "sampling.resize.width=300"}, sets...)...)
}

type quiet struct{}

func (quiet) VideoStart(string, int, int)       {}
func (quiet) FrameDone(string)                  {}
func (quiet) VideoDone(string, int, int, error) {}

func source(t *testing.T, c *config.Config) core.Source {
	t.Helper()
	src, err := localsrc.New(c.Source.Conf.(*localsrc.Config).Path)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// write runs the real stages of c into its sink folder and returns it.
func write(t *testing.T, c *config.Config) string {
	t.Helper()
	r := &stages.Runner{Config: c, Source: source(t, c), Sink: localsink.New(c.Sink.Conf.(*localstore.Config).Path), Reporter: quiet{}, Log: discard}
	sum, err := r.Run(context.Background())
	if err != nil || sum.VideosFailed > 0 || sum.Written == 0 {
		t.Fatalf("run: %v %+v", err, sum.Failures)
	}
	return c.Sink.Conf.(*localstore.Config).Path
}

func check(t *testing.T, c *config.Config, dir string, sample int, seed uint64) *verify.Result {
	t.Helper()
	res, err := verify.Run(context.Background(), verify.Options{Config: c, Source: source(t, c),
		Dataset: localstore.New(dir), Sample: sample, Seed: seed, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func lines(res *verify.Result) string {
	var b strings.Builder
	for _, m := range res.Mismatches {
		fmt.Fprintln(&b, m)
	}
	return b.String()
}

// TestVerifyREADMEExamples: the outputs of the README's runs (the bundled
// pipeline, the annotated project resized, and the same in JPEG and WebP)
// verify with no mismatch, every image compared.
func TestVerifyREADMEExamples(t *testing.T) {
	for _, c := range []struct {
		name   string
		cfg    func(*testing.T, ...string) *config.Config
		sets   []string
		images int
	}{
		{"bundled", load, nil, 38},
		{"annotated", annotated, nil, 9},
		{"jpeg", load, []string{"stages.encode.format=jpeg", "stages.encode.quality=85"}, 38},
		{"webp_lossy", annotated, []string{"stages.encode.format=webp", "stages.encode.quality=80"}, 9},
		{"webp_lossless", annotated, []string{"stages.encode.format=webp", "stages.encode.lossless=true"}, 9},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg(t, c.sets...)
			dir := write(t, cfg)
			res := check(t, cfg, dir, 0, 0)
			if len(res.Mismatches) != 0 || res.Images != c.images || res.Checked != c.images || res.Rederived != c.images {
				t.Fatalf("images %d, checked %d, re-derived %d, want %d; mismatches:\n%s", res.Images, res.Checked, res.Rederived, c.images, lines(res))
			}
		})
	}
}

// TestVerifyFindsTampering: on a copy of the annotated example, a flipped
// pixel, a frame index off by one, a label moved by one pixel, a deleted
// image and two extra images (another frame's name, a new name) are each
// reported by image and reason, and nothing else is.
func TestVerifyFindsTampering(t *testing.T) {
	c := annotated(t)
	dir := write(t, c)
	clip, dark := filepath.Join(dir, "ds0/datasets/clip.mp4"), filepath.Join(dir, "ds0/datasets/night/datasets/dark.mp4")

	flipPixel(t, filepath.Join(clip, "img/clip.mp4_frame_03.png"), 5, 7)
	editJSON(t, filepath.Join(clip, "meta/clip.mp4_frame_07.png.json"), func(m map[string]any) { m["frame_index"] = 8.0 })
	editJSON(t, filepath.Join(clip, "ann/clip.mp4_frame_12.png.json"), func(m map[string]any) {
		p := m["objects"].([]any)[0].(map[string]any)["points"].(map[string]any)["exterior"].([]any)[0].([]any)
		p[0] = p[0].(float64) + 1
	})
	for _, sub := range []string{"img/dark.mp4_frame_04.png", "ann/dark.mp4_frame_04.png.json", "meta/dark.mp4_frame_04.png.json"} {
		if err := os.Remove(filepath.Join(dark, sub)); err != nil {
			t.Fatal(err)
		}
	}
	copyImage(t, dark, "dark.mp4_frame_08.png", "dark.mp4_frame_09.png")
	copyImage(t, clip, "clip.mp4_frame_25.png", "holiday.png")

	res := check(t, c, dir, 0, 0)
	got := lines(res)
	for _, want := range []string{
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_03.png: pixels: 1 of 45000 pixels differ, the first at (5,7)",
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_07.png: meta: frame_index: dataset 8, video 7",
		"ds0/datasets/clip.mp4/img/clip.mp4_frame_12.png: annotation: objects[0].points.exterior[0][0]: dataset ",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_04.png: missing: ",
		"ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_09.png: extra: ",
		"ds0/datasets/clip.mp4/img/holiday.png: extra: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if len(res.Mismatches) != 6 {
		t.Fatalf("%d mismatches, want 6:\n%s", len(res.Mismatches), got)
	}
	if res.Images != 10 || res.Checked != 10 {
		t.Fatalf("images %d, checked %d, want 10 and 10", res.Images, res.Checked)
	}
}

// TestVerifyLossyFloor: in a JPEG dataset, another frame's image under a
// frame's name differs exactly, and is below the floors across builds; the
// images as written are exact.
func TestVerifyLossyFloor(t *testing.T) {
	c := load(t, "stages.encode.format=jpeg", "stages.encode.quality=85")
	dir := write(t, c)
	img := filepath.Join(dir, "ds0/datasets/traffic.mp4/img")
	b, err := os.ReadFile(filepath.Join(img, "traffic.mp4_frame_050.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(img, "traffic.mp4_frame_010.jpg"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cross := range []bool{false, true} {
		res, err := verify.Run(context.Background(), verify.Options{Config: c, Source: source(t, c), Dataset: localstore.New(dir), Log: discard, CrossBuild: cross})
		if err != nil {
			t.Fatal(err)
		}
		want := "pixels differ, the first at"
		if cross {
			want = fmt.Sprintf("below the cross-build floors of %g dB (frame) and %g dB (block)", verify.LossyFloor, verify.BlockFloor)
		}
		got := lines(res)
		if len(res.Mismatches) != 1 || !strings.Contains(got, "ds0/datasets/traffic.mp4/img/traffic.mp4_frame_010.jpg: pixels: ") || !strings.Contains(got, want) {
			t.Fatalf("cross-build %v: want one pixels mismatch of frame 10 (%s):\n%s", cross, want, got)
		}
		if res.Lossy != 38 || res.CrossBuild != cross {
			t.Errorf("lossy images %d (cross-build %v), want 38", res.Lossy, res.CrossBuild)
		}
	}
}

// TestVerifySample: --sample N --seed S checks N images, the same ones for
// the same seed, and re-derives only those frames (the others are skipped,
// never decoded).
func TestVerifySample(t *testing.T) {
	c := load(t)
	dir := write(t, c)
	a, b := check(t, c, dir, 5, 42), check(t, c, dir, 5, 42)
	if a.Checked != 5 || a.Rederived != 5 || len(a.Sampled) != 5 || len(a.Mismatches) != 0 {
		t.Fatalf("checked %d, re-derived %d, sampled %v; mismatches:\n%s", a.Checked, a.Rederived, a.Sampled, lines(a))
	}
	if !slices.Equal(a.Sampled, b.Sampled) {
		t.Fatalf("seed 42 sampled %v, then %v", a.Sampled, b.Sampled)
	}
	other := check(t, c, dir, 5, 43)
	if slices.Equal(a.Sampled, other.Sampled) {
		t.Fatalf("seeds 42 and 43 sampled the same %v", a.Sampled)
	}
	// A tampered image is found when the sample holds it.
	flipPixel(t, filepath.Join(dir, a.Sampled[0]), 0, 0)
	if res := check(t, c, dir, 5, 42); len(res.Mismatches) != 1 || res.Mismatches[0].Image != a.Sampled[0] || res.Mismatches[0].Reason != "pixels" {
		t.Fatalf("want a pixels mismatch of %s:\n%s", a.Sampled[0], lines(res))
	}
	if res := check(t, c, dir, 100, 1); res.Checked != 38 || len(res.Mismatches) != 1 {
		t.Fatalf("a sample larger than the dataset: checked %d\n%s", res.Checked, lines(res))
	}
}

// TestVerifyOtherSettings: a dataset verified with a config that makes other
// images (another resize) is named once per video, its images not compared.
func TestVerifyOtherSettings(t *testing.T) {
	c := load(t)
	dir := write(t, c)
	other := load(t, "sampling.resize.width=160")
	res := check(t, other, dir, 0, 0)
	if len(res.Mismatches) != 3 {
		t.Fatalf("want one mismatch a video:\n%s", lines(res))
	}
	for _, m := range res.Mismatches {
		if m.Reason != "settings" || !strings.HasSuffix(m.Image, "custom_data.json") || !strings.Contains(m.Detail, "width: dataset 0, config 160") {
			t.Fatalf("%v", m)
		}
	}
}

// TestVerifyReportJSON: the report holds every mismatch as the lines do.
func TestVerifyReportJSON(t *testing.T) {
	c := load(t)
	dir := write(t, c)
	copyImage(t, filepath.Join(dir, "ds0/datasets/traffic.mp4"), "traffic.mp4_frame_000.png", "traffic.mp4_frame_001.png")
	res := check(t, c, dir, 0, 0)
	path := filepath.Join(t.TempDir(), "report.json")
	if err := res.WriteReport(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK         bool `json:"ok"`
		Images     int  `json:"images"`
		Checked    int  `json:"checked"`
		Mismatches []struct {
			Image, Reason, Detail string
		} `json:"mismatches"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Images != 39 || rep.Checked != 39 || len(rep.Mismatches) != 1 ||
		rep.Mismatches[0].Image != "ds0/datasets/traffic.mp4/img/traffic.mp4_frame_001.png" || rep.Mismatches[0].Reason != "extra" {
		t.Fatalf("report:\n%s", b)
	}
}

// flipPixel inverts the red of pixel (x, y) of a PNG and writes it back.
func flipPixel(t *testing.T, path string, x, y int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(im.Bounds())
	for yy := im.Bounds().Min.Y; yy < im.Bounds().Max.Y; yy++ {
		for xx := im.Bounds().Min.X; xx < im.Bounds().Max.X; xx++ {
			rgba.Set(xx, yy, im.At(xx, yy))
		}
	}
	rgba.Pix[rgba.PixOffset(x, y)] ^= 0xff
	var out bytes.Buffer
	if err := png.Encode(&out, rgba); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editJSON rewrites a JSON object file through fn.
func editJSON(t *testing.T, path string, fn func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyImage copies an image of a dataset folder, with its annotation and
// meta, under another name.
func copyImage(t *testing.T, ds, from, to string) {
	t.Helper()
	for _, p := range [][2]string{{"img/" + from, "img/" + to}, {"ann/" + from + ".json", "ann/" + to + ".json"}, {"meta/" + from + ".json", "meta/" + to + ".json"}} {
		b, err := os.ReadFile(filepath.Join(ds, p[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ds, p[1]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifySalvaged: a damaged video salvaged (on_damage: salvage) verifies
// clean: the frames its dataset's vpipe_missing lists are not missing; an
// image deleted afterwards is.
func TestVerifySalvaged(t *testing.T) {
	data, err := os.ReadFile(testcorpus.Path(t, testcorpus.Get("mpegts")))
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), data...)
	x := uint32(1)
	for i := len(bad) / 2; i < len(bad)/2+3000; i++ { // garbage over the middle packets
		x = x*1664525 + 1013904223
		bad[i] = byte(x >> 24)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "clip.ts"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, "source.path="+src, "sampling.step=1", "sampling.on_damage=salvage")
	dir := write(t, c)
	custom, err := os.ReadFile(filepath.Join(dir, "ds0/datasets/clip.ts/custom_data.json"))
	if err != nil || !strings.Contains(string(custom), "vpipe_missing") {
		t.Fatalf("the salvaged dataset lists no missing frames: %v\n%s", err, custom)
	}
	res := check(t, c, dir, 0, 0)
	if len(res.Mismatches) != 0 || res.Images == 0 || res.Images >= 75 || res.Checked != res.Images {
		t.Fatalf("images %d, checked %d:\n%s", res.Images, res.Checked, lines(res))
	}
	if err := os.Remove(filepath.Join(dir, "ds0/datasets/clip.ts/img/clip.ts_frame_00.png")); err != nil {
		t.Fatal(err)
	}
	res = check(t, c, dir, 0, 0)
	if len(res.Mismatches) != 1 || res.Mismatches[0].Reason != "missing" {
		t.Fatalf("want frame 0 missing:\n%s", lines(res))
	}
}

// TestVerifyProjectMeta: a meta.json that lacks what the source's meta
// brings (a tag vpipe adds, here) is named by meta.json.
func TestVerifyProjectMeta(t *testing.T) {
	c := annotated(t)
	dir := write(t, c)
	editJSON(t, filepath.Join(dir, "meta.json"), func(m map[string]any) {
		m["tags"] = slices.DeleteFunc(m["tags"].([]any), func(t any) bool { return t.(map[string]any)["name"] == "auto-tracked" })
	})
	res := check(t, c, dir, 0, 0)
	if len(res.Mismatches) != 1 || res.Mismatches[0].Image != "meta.json" || res.Mismatches[0].Reason != "project_meta" {
		t.Fatalf("want one meta.json mismatch:\n%s", lines(res))
	}
}

// TestVerifyLossyPatchEdit: a 10×10 patch brightened by 100 levels in one
// 1080p image of a JPEG and of a lossy WebP dataset is reported. The edited
// file is what the run's own encoder makes of the frame with the patch (the
// frame's exact pixels come from the same run in PNG), so every block away
// from the patch is as the run writes it: the whole frame stays above the
// 50 dB floor that alone let such an edit through.
func TestVerifyLossyPatchEdit(t *testing.T) {
	sets := []string{"source.path=../testdata/videos/traffic.mp4", "sampling.step=50", "sampling.resize.width=1920"}
	exact := write(t, load(t, sets...))
	for _, f := range []struct{ name, ext string }{{"jpeg", ".jpg"}, {"webp", ".webp"}} {
		t.Run(f.name, func(t *testing.T) {
			c := load(t, append(sets, "stages.encode.format="+f.name, "stages.encode.quality=85")...)
			dir := write(t, c)
			name := "ds0/datasets/traffic.mp4/img/traffic.mp4_frame_050"
			pix := decodeFile(t, filepath.Join(exact, name+".png"))
			for y := 500; y < 510; y++ {
				for x := 900; x < 910; x++ {
					for ch := range 3 {
						p := &pix.Pix[pix.PixOffset(x, y)+ch]
						*p = byte(min(255, int(*p)+100))
					}
				}
			}
			edited := encodeRGB(t, media.EncodeOptions{Format: f.name, Quality: 85}, pix)
			if psnr := psnrOf(t, edited, filepath.Join(dir, name+f.ext)); psnr < verify.LossyFloor {
				t.Fatalf("the edit brings the whole frame to %.1f dB: the test would not show the dilution", psnr)
			}
			if err := os.WriteFile(filepath.Join(dir, name+f.ext), edited, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cross := range []bool{false, true} {
				res, err := verify.Run(context.Background(), verify.Options{Config: c, Source: source(t, c), Dataset: localstore.New(dir), Log: discard, CrossBuild: cross})
				if err != nil {
					t.Fatal(err)
				}
				if got := lines(res); len(res.Mismatches) != 1 || !strings.HasPrefix(got, name+f.ext+": pixels: ") {
					t.Errorf("cross-build %v: want a pixels mismatch of %s:\n%s", cross, name+f.ext, got)
				} else {
					t.Logf("cross-build %v: %s", cross, got)
				}
			}
		})
	}
}

// decodeFile decodes an image file (PNG, JPEG or WebP) to RGBA.
func decodeFile(t *testing.T, path string) *image.RGBA {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var im image.Image
	if strings.HasSuffix(path, ".webp") {
		im, err = media.DecodeWebP(b)
	} else {
		im, _, err = image.Decode(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := image.NewRGBA(im.Bounds())
	draw.Draw(out, out.Rect, im, im.Bounds().Min, draw.Src)
	return out
}

// encodeRGB encodes an image with vpipe's own encoder for o.
func encodeRGB(t *testing.T, o media.EncodeOptions, im *image.RGBA) []byte {
	t.Helper()
	w, h := im.Rect.Dx(), im.Rect.Dy()
	rgb := &media.RGB{Width: w, Height: h, Pix: make([]byte, 3*w*h)}
	for i := range w * h {
		copy(rgb.Pix[3*i:3*i+3], im.Pix[4*i:4*i+3])
	}
	enc, err := media.NewEncoder(o)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	b, err := enc.Encode(rgb)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b...)
}

// psnrOf is the PSNR of an image's pixels against a file's (RGB, dB).
func psnrOf(t *testing.T, b []byte, path string) float64 {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	a, o := decodeFile(t, tmp), decodeFile(t, path)
	var sq float64
	for i := range a.Pix {
		if i%4 != 3 {
			e := float64(a.Pix[i]) - float64(o.Pix[i])
			sq += e * e
		}
	}
	return 10 * math.Log10(255*255/(sq/float64(3*a.Rect.Dx()*a.Rect.Dy())))
}
