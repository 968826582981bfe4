package preview_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bt "github.com/vpipe/vpipe/internal/testenv/browsertest"
)

// TestPreviewBrowserPolygonHoleAndGraph: a polygon's hole is left clear (fill-rule
// evenodd), its ring is filled; a graph's edge comes from its class template.
func TestPreviewBrowserPolygonHoleAndGraph(t *testing.T) {
	ctx := bt.New(t, 1000, 800)
	d := newDataset(t)
	d.image([]string{"train", "a.mp4"}, "a.mp4_frame_2.png", pngOf(100, 90, color.NRGBA{90, 90, 90, 255}), 100, 90, everyGeometry(t), "", map[string]any{"frame_index": 2})
	site := filepath.Join(t.TempDir(), "site")
	build(t, d.root, site)
	openSite(t, ctx, site)
	if got := bt.Eval[string](t, ctx, `[...document.querySelectorAll('[data-label]')].map(g => g.dataset.class + ':' + [...g.children].map(c => c.tagName).join('+')).join(' ')`); got != "car:rect road:path lane:polyline wheel:path puddle:image person:line+path+path sign:" {
		t.Errorf("labels drawn: %s", got)
	}
	box := bt.Eval[[]float64](t, ctx, `(() => { const r = document.querySelector('.card img').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	shot := bt.Screenshot(t, ctx)
	bt.Eval[bool](t, ctx, `document.head.insertAdjacentHTML('beforeend', '<style>svg.labels { visibility: hidden }</style>'), true`)
	bare := bt.Screenshot(t, ctx)
	at := func(x, y float64) (int, int) { return int(box[0] + x*box[2]/100), int(box[1] + y*box[3]/90) }
	x, y := at(10, 60) // in the road's ring: tinted green
	if a, b := rgb(shot, x, y), rgb(bare, x, y); !(a[1] > b[1]+10 && a[0] < b[0]) {
		t.Errorf("road ring at (10,60): %v, without labels %v: not tinted green", a, b)
	}
	x, y = at(30, 60) // in its hole: as the image is
	if a, b := rgb(shot, x, y), rgb(bare, x, y); a != b {
		t.Errorf("road hole at (30,60): %v, without labels %v: the hole is filled", a, b)
	}
}

// TestPreviewBrowserFirstPageOf10000Images: the acceptance: a 10,000-image
// project renders its first page in under 2 s, measured in the browser from
// navigation to the first page of cards painted (performance.now()).
func TestPreviewBrowserFirstPageOf10000Images(t *testing.T) {
	ctx := bt.New(t, 1280, 900)
	d := newDataset(t)
	start := time.Now()
	// a goroutine per video: creating 30,000 files is the slow part, in the kernel
	var wg sync.WaitGroup
	for v := range 10 {
		wg.Go(func() {
			ds := []string{[]string{"train", "val"}[v%2], fmt.Sprintf("video%02d.mp4", v)}
			frames := map[int][]byte{} // 64 distinct frames a video, encoded once
			for f := range 1000 {
				name := fmt.Sprintf("video%02d.mp4_frame_%04d.png", v, f)
				objects := rect("car", f%40, 5, f%40+16, 20, v*1000+f)
				if f%10 == 0 {
					objects = "" // every tenth image unlabelled
				} else if f%3 == 0 {
					objects += `,{"classTitle":"road","tags":[],"points":{"exterior":[[0,30],[63,30],[63,47],[0,47]],"interior":[]},"geometryType":"polygon"}`
				}
				if frames[f%64] == nil {
					frames[f%64] = smallPNG(v, f)
				}
				d.image(ds, name, frames[f%64], 64, 48, objects, "", map[string]any{"frame_index": f, "time_s": float64(f) / 25, "pts": f * 512, "video_name": ds[1]})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("10,000 images written in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	site := filepath.Join(t.TempDir(), "site")
	sum := build(t, d.root, site)
	t.Logf("preview built in %v: %+v", time.Since(start).Round(time.Millisecond), *sum)
	if sum.Images != 10000 || sum.ThumbsMade != 10000 || sum.Unlabelled != 1000 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.DataBytes > 1500*1024 || sum.Chunks != 5 {
		t.Errorf("the data is %d KB in %d chunks for 10,000 images: want compact, 5 chunks of 2,000", sum.DataBytes/1024, sum.Chunks)
	}
	bt.Open(t, ctx, "file://"+filepath.Join(site, "index.html"))
	bt.Wait(t, ctx, `window.VPIPE_FIRST > 0`, 30*time.Second)
	first := bt.Eval[float64](t, ctx, `window.VPIPE_FIRST`)
	t.Logf("first page of cards painted %.0f ms after navigation", first)
	if first >= 2000 {
		t.Errorf("first page after %.0f ms, want under 2000", first)
	}
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('.card[data-image]').length`); n != 200 {
		t.Errorf("%d cards on the first page, want 200", n)
	}
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second)
	if got := bt.Eval[string](t, ctx, `document.getElementById('n-unlabelled').textContent`); got != "1000" {
		t.Errorf("unlabelled images: %s", got)
	}
	// the last page, then a filter: still pages of at most 200
	bt.Eval[bool](t, ctx, `(() => { const i = document.querySelector('#pager-top input'); i.value = 50; i.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second)
	if got := bt.Eval[string](t, ctx, `document.querySelector('.card:last-child').dataset.image`); got != "val/datasets/video09.mp4/img/video09.mp4_frame_0999.png" {
		t.Errorf("last card of the last page: %s", got)
	}
	bt.Eval[bool](t, ctx, `(() => { const s = document.getElementById('f-class'); s.value = '1'; s.dispatchEvent(new Event('change')); return true; })()`)
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 20*time.Second)
	if got := bt.Eval[string](t, ctx, `document.getElementById('count').textContent`); got != "3000 of 10000 images shown" {
		t.Errorf("after choosing road: %q", got)
	}
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('.card [data-class="road"]').length`); n != 200 {
		t.Errorf("%d road labels on the page, want 200", n)
	}
}

// smallPNG is a 64x48 frame of its own: a shade per video, a bar moving with
// the frame.
func smallPNG(v, f int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			c := color.NRGBA{uint8(20 * v), uint8(4 * y), 120, 255}
			if x == f%64 {
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// openSite opens a site from file:// and waits until its first page and its
// thumbnails are there.
func openSite(t *testing.T, ctx context.Context, site string) {
	t.Helper()
	bt.Open(t, ctx, "file://"+filepath.Join(site, "index.html"))
	bt.Wait(t, ctx, `document.body.dataset.ready === '1' && [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)`, 20*time.Second)
}

func rgb(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// TestPreviewBrowserHostile: names, tags, values, object ids, a class
// colour, a dataset's and a video's name, time_s and pts that hold markup
// are shown as text: no script of theirs runs (each would set a flag on
// window), and the text is there literally.
func TestPreviewBrowserHostile(t *testing.T) {
	ctx := bt.New(t, 1280, 900)
	x := func(n int) string { return fmt.Sprintf(`<img src=x onerror=window.PWNED=%d>`, n) }
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	d := newDataset(t)
	d.put("meta.json", []byte(`{"classes":[
		{"title":`+js(x(1))+`,"shape":"rectangle","color":`+js(`red"><img src=x onerror=window.PWNED=2>`)+`},
		{"title":"car","shape":"rectangle","color":`+js(`#FF0000;background:url(x)" onload="window.PWNED=3`)+`}],
		"tags":[{"name":`+js(x(4))+`,"value_type":"any_string"},{"name":"object_id","value_type":"any_string"}]}`))
	dsName, vidName, imgName := `<svg onload=window.PWNED=5>`, `v<img src=x onerror=window.PWNED=6>.mp4`, `f<img src=x onerror=window.PWNED=7>.png`
	objects := `{"classTitle":` + js(x(1)) + `,"tags":[{"name":"object_id","value":` + js(x(8)) + `},{"name":` + js(x(4)) + `,"value":` + js(x(9)) + `}],"points":{"exterior":[[1,1],[30,20]],"interior":[]},"geometryType":"rectangle"},` +
		`{"classTitle":"car","tags":[],"points":{"exterior":[[5,5],[10,10]],"interior":[]},"geometryType":"rectangle"},` +
		`{"classTitle":` + js(x(10)) + `,"tags":[],"points":{"exterior":[[5,5],[10,10]],"interior":[]},"angle":1,"geometryType":"oriented_bbox"}`
	d.image([]string{dsName, vidName}, imgName, pngOf(40, 30, color.NRGBA{50, 50, 50, 255}), 40, 30, objects, `{"name":`+js(x(4))+`,"value":`+js(x(11))+`}`,
		map[string]any{"frame_index": 1, "time_s": x(12), "pts": x(13), "video_name": vidName})
	site := filepath.Join(t.TempDir(), "site")
	build(t, d.root, site)
	bt.Open(t, ctx, "file://"+filepath.Join(site, "index.html"))
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second)
	bt.Eval[bool](t, ctx, `document.querySelector('.card').click(), true`)
	bt.Wait(t, ctx, `!document.getElementById('full').hidden && document.body.dataset.ready === '1'`, 10*time.Second)
	// the broken src=x images of the markup, were they elements, would have
	// failed to load by now: give their onerror a moment to run
	time.Sleep(300 * time.Millisecond)
	if got := bt.Eval[any](t, ctx, `window.PWNED === undefined ? null : window.PWNED`); got != nil {
		t.Fatalf("a script from the data ran: window.PWNED = %v", got)
	}
	if n := bt.Eval[int](t, ctx, `document.querySelectorAll('#grid img, #full-info img, #numbers img, #strips img, #filters img').length`); n != 1 {
		t.Errorf("%d img elements outside the picture areas, want the thumbnail only", n)
	}
	text := bt.Eval[string](t, ctx, `document.body.innerText`)
	for _, want := range []string{x(1), x(4) + ": " + x(9), x(4) + ": " + x(11), x(8), x(10), imgName, vidName, dsName} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	if info := bt.Eval[string](t, ctx, `document.getElementById('full-info').innerText`); !strings.Contains(info, "time_s") {
		t.Errorf("time_s that is not a number is not named as a problem:\n%s", info)
	}
	for _, sel := range []string{`#full-info .sw`, `.card [data-label] `} {
		styles := bt.Eval[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => (e.getAttribute('style') || '') + (e.getAttribute('stroke') || ''))`, sel))
		for _, s := range styles {
			if strings.Contains(s, "url") || strings.Contains(s, "onload") || strings.Contains(s, `"`) {
				t.Errorf("%s: a colour from the data in an attribute: %q", sel, s)
			}
		}
	}
}

// TestPreviewBrowserSplitFilter: a project laid out as train/ and val/ has
// those splits; choosing one shows its images only, and the numbers follow.
func TestPreviewBrowserSplitFilter(t *testing.T) {
	ctx := bt.New(t, 1280, 900)
	d := newDataset(t)
	for _, c := range []struct {
		split, video string
		frames       []int
	}{{"train", "a.mp4", []int{0, 5, 10}}, {"val", "b.mp4", []int{0, 5}}, {"train", "c.mp4", []int{3}}} {
		for _, f := range c.frames {
			d.image([]string{c.split, c.video}, fmt.Sprintf("%s_frame_%02d.png", c.video, f), pngOf(40, 30, color.NRGBA{90, 90, 90, 255}), 40, 30,
				rect("car", 1, 1, 9, 9, f), "", map[string]any{"frame_index": f, "video_name": c.video})
		}
	}
	site := filepath.Join(t.TempDir(), "site")
	build(t, d.root, site)
	openSite(t, ctx, site)
	if got := bt.Eval[string](t, ctx, `[...document.querySelectorAll('#f-split option')].map(o => o.text).join(',')`); got != "all,train (4),val (2)" {
		t.Errorf("split options %q", got)
	}
	for _, c := range []struct{ split, cards, count string }{
		{"val", "b.mp4_frame_00.png b.mp4_frame_05.png", "2 of 6 images shown"},
		{"train", "a.mp4_frame_00.png a.mp4_frame_05.png a.mp4_frame_10.png c.mp4_frame_03.png", "4 of 6 images shown"},
		{"", "a.mp4_frame_00.png a.mp4_frame_05.png a.mp4_frame_10.png c.mp4_frame_03.png b.mp4_frame_00.png b.mp4_frame_05.png", "6 of 6 images shown"}, // by folder: train/, then val/
	} {
		chooseValue(t, ctx, "f-split", c.split)
		if got := bt.Eval[string](t, ctx, `[...document.querySelectorAll('.card')].map(c => c.dataset.image.replace(/.*\//, '')).join(' ')`); got != c.cards {
			t.Errorf("split %q: cards %q, want %q", c.split, got, c.cards)
		}
		if got := bt.Eval[string](t, ctx, `document.getElementById('count').textContent`); got != c.count {
			t.Errorf("split %q: %q, want %q", c.split, got, c.count)
		}
	}
	chooseValue(t, ctx, "f-split", "val")
	if got := bt.Eval[string](t, ctx, `document.getElementById('n-videos').innerText`); !strings.Contains(got, "b.mp4") || strings.Contains(got, "a.mp4") {
		t.Errorf("numbers per video with split val: %q", got)
	}
	if got := bt.Eval[string](t, ctx, `[...document.querySelectorAll('.strip .name')].map(s => s.textContent).join(' ')`); got != "b.mp4" {
		t.Errorf("strips with split val: %q", got)
	}
}

// chooseValue picks the option of a filter whose text starts with option
// ("" = all) and waits until the page has applied it.
func chooseValue(t *testing.T, ctx context.Context, id, option string) {
	t.Helper()
	ok := bt.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		const o = [...s.options].find(o => %q === '' ? o.value === '' : o.text.startsWith(%q + ' ('));
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event('change'));
		return true; })()`, id, option, option))
	if !ok {
		t.Fatalf("%s has no option %q", id, option)
	}
	bt.Wait(t, ctx, `document.body.dataset.ready === '1'`, 10*time.Second)
}
