package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	bt "github.com/vpipe/vpipe/internal/testenv/browsertest"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// annotatedProject writes the README tour's annotated project: the fixture's
// 9 annotated frames, 300 px wide (clip.mp4 03 07 12 25, dark.mp4 00 04 08 12 16).
func annotatedProject(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out-annotated")
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path=testdata/svproject", "--set", "sink.path="+out,
		"--set", "sampling.only_annotated=true", "--set", "sampling.step=1", "--set", "sampling.resize.width=300")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, log)
	}
	return out
}

const (
	frame03 = "ds0/datasets/clip.mp4/img/clip.mp4_frame_03.png"
	dark08  = "ds0/datasets/night/datasets/dark.mp4/img/dark.mp4_frame_08.png"
)

// TestPreviewLabelsWhereTheyBelong: the preview of the annotated fixture, in
// Chromium: every geometry of frame 3 is drawn, and the screenshot's pixels
// under a known rectangle's outline have its class's colour (car, #FF0000):
// dark.mp4 frame 8's car is [19,19]-[66,42] in its 300x169 image. The frame
// is a test pattern with red in it, so a second screenshot with the labels
// hidden tells which of those pixels only the label can have made red, and
// that the label paints nothing a few pixels outside its box.
func TestPreviewLabelsWhereTheyBelong(t *testing.T) {
	ctx := bt.New(t, 1280, 760)
	out := annotatedProject(t)
	site := filepath.Join(t.TempDir(), "site")
	log, code := vpipe(t, "preview", out, "-o", site)
	if code != 0 || !strings.Contains(log, "preview: 9 images, 2 videos, 18 labels, 0 unlabelled images; thumbnails: 9 made, 0 already there") {
		t.Fatalf("preview: exit %d\n%s", code, log)
	}
	open(t, ctx, site)
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('.card[data-image]').length`); n != 9 {
		t.Fatalf("%d cards, want 9", n)
	}
	classes := bt.Eval[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('.card[data-image=%q] [data-label][data-class]')].map(g => g.dataset.class + ':' + g.firstElementChild.tagName)`, frame03))
	want := "car:rect road:path lane:polyline wheel:path puddle:image person:line"
	if strings.Join(classes, " ") != want {
		t.Errorf("frame 3's labels: %v, want %s", classes, want)
	}
	if p := os.Getenv("VPIPE_PREVIEW_SCREENSHOT"); p != "" { // how docs/preview.png is made
		saveScreenshot(t, ctx, p)
	}
	box := bt.Eval[[]float64](t, ctx, fmt.Sprintf(`(() => { const i = document.querySelector('.card[data-image=%q] img');
		i.scrollIntoView({block: 'center'}); const r = i.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, dark08))
	shot := bt.Screenshot(t, ctx)
	bt.Eval[bool](t, ctx, `document.head.insertAdjacentHTML('beforeend', '<style>svg.labels { visibility: hidden }</style>'), true`)
	bare := bt.Screenshot(t, ctx)
	// image pixels -> screen: the rectangle's inclusive corners put its
	// outline on x = 19 and 67, y = 19 and 43.
	at := func(x, y float64) (int, int) {
		return int(box[0] + x*box[2]/300), int(box[1] + y*box[3]/169)
	}
	red := func(r, g, b uint8) bool { return r >= 200 && g <= 70 && b <= 70 }
	var outline [][2]float64
	for v := 20.0; v < 66; v += 2 {
		outline = append(outline, [2]float64{v, 19}, [2]float64{v, 43})
		if v < 43 {
			outline = append(outline, [2]float64{19, v}, [2]float64{67, v})
		}
	}
	proved := 0
	for _, p := range outline {
		x, y := at(p[0], p[1])
		if near(bare, x, y, red) {
			continue // red in the frame itself: proves nothing
		}
		proved++
		if !near(shot, x, y, red) {
			t.Errorf("no car red (#FF0000) on the outline at image %v (screen %d,%d): %v", p, x, y, rgbAt(shot, x, y))
		}
	}
	if proved < 20 {
		t.Errorf("only %d outline points fall on a part of the frame that is not red", proved)
	}
	for _, p := range [][2]float64{{10, 31}, {76, 31}, {42, 10}, {42, 52}} { // 9 px outside
		x, y := at(p[0], p[1])
		if a, b := rgbAt(shot, x, y), rgbAt(bare, x, y); a != b {
			t.Errorf("outside the box at image %v the label changed the pixel: %v, without labels %v", p, a, b)
		}
	}
}

// TestPreviewFilters: choosing a class, tag, video, dataset or the unlabelled
// images changes the cards shown; a click opens the image with its labels'
// tags and object_id.
func TestPreviewFilters(t *testing.T) {
	ctx := bt.New(t, 1280, 1000)
	out := annotatedProject(t)
	site := filepath.Join(t.TempDir(), "site")
	if log, code := vpipe(t, "preview", out, "-o", site); code != 0 {
		t.Fatalf("preview: exit %d\n%s", code, log)
	}
	open(t, ctx, site)
	cards := func() string {
		return strings.Join(bt.Eval[[]string](t, ctx, `[...document.querySelectorAll('.card')].map(c => c.dataset.image.replace(/.*frame_/, ''))`), " ")
	}
	for _, c := range []struct{ filter, option, want string }{
		{"class", "puddle", "03.png 07.png"},
		{"class", "car", "03.png 07.png 12.png 00.png 04.png 08.png 12.png 16.png"},
		{"video", "dark.mp4", "00.png 04.png 08.png 12.png 16.png"}, // and car
		{"class", "", "00.png 04.png 08.png 12.png 16.png"},
		{"video", "", "03.png 07.png 12.png 25.png 00.png 04.png 08.png 12.png 16.png"},
		{"tag", "occluded", "07.png"},
		{"tag", "weather", "03.png 07.png 12.png 25.png"},
		{"tag", "", "03.png 07.png 12.png 25.png 00.png 04.png 08.png 12.png 16.png"},
		{"dataset", "ds0/night", "00.png 04.png 08.png 12.png 16.png"},
		{"dataset", "ds0", "03.png 07.png 12.png 25.png"},
		{"labelled", "unlabelled", ""},
	} {
		choose(t, ctx, c.filter, c.option)
		if got := cards(); got != c.want {
			t.Errorf("%s %q: cards %q, want %q", c.filter, c.option, got, c.want)
		}
	}
	bt.Eval[bool](t, ctx, `document.getElementById('f-reset').click(), true`)
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second)
	if got := cards(); strings.Count(got, ".png") != 9 {
		t.Fatalf("after reset: %s", got)
	}
	if got := bt.Eval[string](t, ctx, `document.getElementById('n-classes').innerText`); !regexp.MustCompile(`car\s+8\b`).MatchString(got) {
		t.Errorf("labels per class: %q, want car 8", got)
	}
	bt.Eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('.card[data-image=%q]').click(), true`, frame03))
	bt.Wait(t, ctx, `document.querySelector('#full img').naturalWidth === 300`, 10*time.Second) // the original, not the thumbnail
	info := bt.Eval[string](t, ctx, `document.getElementById('full-info').innerText`)
	for _, w := range []string{"clip.mp4_frame_03.png", "weather: sunny", "car rectangle · object_id 501 · color: red, auto-tracked", "6 labels", "frame\t3"} {
		if !strings.Contains(info, w) {
			t.Errorf("full view lacks %q:\n%s", w, info)
		}
	}
}

// TestPreviewServe: --serve gives the site and the project's images (only
// images) over HTTP until SIGINT, then exits 0.
func TestPreviewServe(t *testing.T) {
	out := annotatedProject(t)
	site := filepath.Join(t.TempDir(), "site")
	url, cmd, stderr := startServe(t, "preview", out, "-o", site, "--serve", "127.0.0.1:0")
	get := func(path string) (int, []byte) {
		r, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, b
	}
	if code, b := get("index.html"); code != 200 || !bytes.Contains(b, []byte(`src="data/index.js"`)) {
		t.Errorf("index.html: %d", code)
	}
	// a name rebound to 127.0.0.1 (DNS rebinding) is refused
	req, _ := http.NewRequest("GET", url+"dataset/"+frame03, nil)
	req.Host = "evil.example"
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 403 {
		t.Errorf("Host evil.example: %v %v, want 403", r, err)
	} else {
		r.Body.Close()
	}
	if code, b := get("serve.js"); code != 200 || !bytes.Contains(b, []byte(`"dataset/"`)) {
		t.Errorf("serve.js: %d %s", code, b)
	}
	want, _ := os.ReadFile(filepath.Join(out, frame03))
	if code, b := get("dataset/" + frame03); code != 200 || !bytes.Equal(b, want) {
		t.Errorf("the image over HTTP: %d, %d bytes, want %d", code, len(b), len(want))
	}
	for _, p := range []string{"dataset/ds0/datasets/clip.mp4/ann/clip.mp4_frame_03.png.json", "dataset/meta.json", "dataset/../out-annotated/meta.json"} {
		if code, _ := get(p); code != 404 {
			t.Errorf("%s: %d, want 404 (only images are served)", p, code)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGINT: %v\n%s", err, stderr.String())
	}
}

// startServe runs vpipe with args that end in --serve and returns the URL
// it serves on, once it says so; the process is killed when the test ends.
func startServe(t *testing.T, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "serving "); ok {
			url = strings.Fields(u)[0]
			break
		}
	}
	if url == "" {
		t.Fatalf("no serving line\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return url, cmd, &stderr
}

// TestPreviewS3: the preview of a dataset in a bucket (versitygw) is built
// from s3://; opened from file:// its full view shows the thumbnail and
// says to run with --serve (the site has no link to a bucket); served, the
// full view loads the image itself, from the bucket through the server.
func TestPreviewS3(t *testing.T) {
	ctx := bt.New(t, 1280, 900)
	srv, err := s3test.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	srv.Env(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint) // an IP endpoint: the SDK addresses buckets by path
	out := annotatedProject(t)
	bucket := srv.Bucket(t)
	srv.Upload(t, out, bucket, "sets/a")
	site := filepath.Join(t.TempDir(), "site")
	url, _, stderr := startServe(t, "preview", "s3://"+bucket+"/sets/a", "-o", site, "--serve", "127.0.0.1:0")
	b, err := os.ReadFile(filepath.Join(site, "data/index.js"))
	if err != nil || !bytes.Contains(b, []byte(`"base":null`)) {
		t.Fatalf("data/index.js: %v, want no base:\n%.300s\n%s", err, b, stderr)
	}
	fullView := func() string {
		bt.Eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('.card[data-image=%q]').click(), true`, frame03))
		bt.Wait(t, ctx, `!document.getElementById('full').hidden && document.querySelector('#full img').complete && document.body.dataset.ready === '1'`, 10*time.Second)
		return bt.Eval[string](t, ctx, `document.getElementById('full-info').innerText`)
	}
	open(t, ctx, site)
	if info := fullView(); !strings.Contains(info, "full-size images: run with --serve") {
		t.Errorf("from file://, the full view does not say to serve:\n%s", info)
	}
	if w := bt.Eval[int](t, ctx, `document.querySelector('#full img').naturalWidth`); w != 256 {
		t.Errorf("from file://, the full view's image is %d wide, want the 256 px thumbnail", w)
	}
	bt.Open(t, ctx, url)
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 20*time.Second)
	if info := fullView(); strings.Contains(info, "--serve") {
		t.Errorf("served, the full view still says to serve:\n%s", info)
	}
	bt.Wait(t, ctx, `document.querySelector('#full img').naturalWidth === 300`, 10*time.Second) // the original, from the bucket
	if src := bt.Eval[string](t, ctx, `document.querySelector('#full img').getAttribute('src')`); src != "dataset/"+frame03 {
		t.Errorf("served, the full image is %s", src)
	}
}

// open opens the site's page from file:// and waits until it has drawn its
// first page and every thumbnail of it has loaded.
func open(t *testing.T, ctx context.Context, site string) {
	t.Helper()
	bt.Open(t, ctx, "file://"+filepath.Join(site, "index.html"))
	bt.Wait(t, ctx, `document.body.dataset.ready === '1' && [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)`, 20*time.Second)
}

// choose picks an option of a filter by its text ("" = all).
func choose(t *testing.T, ctx context.Context, filter, option string) {
	t.Helper()
	ok := bt.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
		const s = document.querySelector('[data-filter=%q]');
		const o = [...s.options].find(o => %q === '' ? o.value === '' : o.text.replace(/ \(\d+\)$/, '') === %q || o.text.startsWith(%q + ' — '));
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event('change'));
		return true; })()`, filter, option, option, option))
	if !ok {
		t.Fatalf("filter %s has no option %q", filter, option)
	}
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second) // the filter applied
}

// near tells whether a pixel within 1 of (x, y) passes ok (the outline is
// 2 px wide, anti-aliased where it falls between pixels).
func near(img image.Image, x, y int, ok func(r, g, b uint8) bool) bool {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			c := rgbAt(img, x+dx, y+dy)
			if ok(c[0], c[1], c[2]) {
				return true
			}
		}
	}
	return false
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// saveScreenshot writes the page as a PNG at path, for the README.
func saveScreenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 256 colours (the page is flat colours and a test pattern): a third of the bytes.
	shot := bt.Screenshot(t, ctx)
	pal := image.NewPaletted(shot.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Bounds(), shot, image.Point{}, draw.Src)
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, pal); err != nil {
		t.Fatal(err)
	}
}
