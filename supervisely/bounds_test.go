package supervisely_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

// fullMask is a w×h mask with every pixel set, in the SDK's encoding.
func fullMask(t *testing.T, w, h int) string {
	t.Helper()
	m := &sv.Mask{W: w, H: h, Bits: make([]bool, w*h)}
	for i := range m.Bits {
		m.Bits[i] = true
	}
	d, err := sv.EncodeMask(m)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func bitmapAnnotation(w, h, frames int, data string) string {
	var fr []string
	for i := 0; i < frames; i++ {
		fr = append(fr, fmt.Sprintf(`{"index":%d,"figures":[{"key":"f%d","objectKey":"a","geometryType":"bitmap","geometry":{"bitmap":{"origin":[0,0],"data":%q}}}]}`, i, i, data))
	}
	return fmt.Sprintf(`{"size":{"height":%d,"width":%d},"framesCount":%d,"tags":[],"objects":[{"key":"a","classTitle":"puddle","tags":[]}],"frames":[%s]}`,
		h, w, frames, strings.Join(fr, ","))
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestHostileBitmapAnnotation: a few hundred bytes (size 1×1, one 512² bitmap)
// on a 160×120 video once asked for 512·160 × 512·120 mask pixels (5 GB) when
// the frame was written. The size is now checked against the video, and a mask
// larger than its frame is refused, both before any frame, allocating little.
func TestHostileBitmapAnnotation(t *testing.T) {
	_, meta, _ := load(t)
	data := fullMask(t, 512, 512)
	video := sv.Video{Frames: 1, Width: 160, Height: 120}
	for _, c := range []struct {
		w, h int
		want string
	}{
		{1, 1, "size: 1x1 (width x height) is not the video's size 160x120"},
		{160, 120, "frames[0].figures[0].geometry.bitmap.data: mask 512x512 is larger than the frame 160x120"},
	} {
		js := bitmapAnnotation(c.w, c.h, 1, data)
		before := totalAlloc()
		ann, err := sv.ParseVideoAnnotation([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		s, err := sv.NewSampler(ann, meta, nil, video, crop.GEOS{})
		if err == nil {
			t.Fatalf("%d-byte annotation of size %dx%d accepted", len(js), c.w, c.h)
		}
		if err.Error() != c.want {
			t.Errorf("error %q, want %q", err, c.want)
		}
		_ = s
		if d := totalAlloc() - before; d > 1<<20 {
			t.Errorf("parsing and checking a %d-byte annotation allocated %d bytes", len(js), d)
		}
	}
}

// TestMaskBoundedByOutput: a frame-sized mask on a 160×120 video written at
// 16000×12000 (×100) with its origin near the bottom-right corner: only the part
// inside the image is made, so the annotation costs about what that part does,
// not the 1.9 G pixels of the whole scaled mask.
func TestMaskBoundedByOutput(t *testing.T) {
	_, meta, _ := load(t)
	js := strings.Replace(bitmapAnnotation(160, 120, 1, fullMask(t, 160, 120)), `"origin":[0,0]`, `"origin":[150,115]`, 1)
	ann, err := sv.ParseVideoAnnotation([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 1, Width: 160, Height: 120}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	before := totalAlloc()
	img, _, err := s.Image(0, 16000, 12000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	used := totalAlloc() - before
	if len(img.Objects) != 1 {
		t.Fatalf("labels: %s", b)
	}
	bm := img.Objects[0].Geometry.(*sv.Bitmap)
	if bm.Origin != [2]int{15000, 11500} || bm.W != 1000 || bm.H != 500 {
		t.Errorf("bitmap at %v, %dx%d; want [15000 11500], 1000x500", bm.Origin, bm.W, bm.H)
	}
	t.Logf("one 1000x500 label: %d KB allocated", used>>10)
	if used > 16<<20 {
		t.Errorf("one 1000x500 label allocated %d MB", used>>20)
	}
}

// TestMasksDecodedPerFrame: a video's annotation holds its masks encoded, so
// what stays in memory grows with the annotation's bytes, not with frames ×
// mask pixels (it used to keep every mask decoded: 500 × 192×108 here, 10 MB).
func TestMasksDecodedPerFrame(t *testing.T) {
	_, meta, _ := load(t)
	js := bitmapAnnotation(192, 108, 500, fullMask(t, 192, 108))
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapAlloc
	ann, err := sv.ParseVideoAnnotation([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 500, Width: 192, Height: 108}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m)
	held := int64(m.HeapAlloc) - int64(before)
	t.Logf("a %d KB annotation holds %d KB after parsing", len(js)>>10, held>>10)
	if held > 8*int64(len(js)) {
		t.Errorf("a %d KB annotation holds %d KB after parsing", len(js)>>10, held>>10)
	}
	img, _, err := s.Image(499, 192, 108)
	if err != nil || len(img.Objects) != 1 {
		t.Fatalf("%v %v", err, img)
	}
	if bm := img.Objects[0].Geometry.(*sv.Bitmap); bm.W != 192 || bm.H != 108 {
		t.Fatalf("mask %dx%d", bm.W, bm.H)
	}
	runtime.KeepAlive(s)
}

// naiveScaleCrop is the SDK's order, materialising everything: trim (on
// construction), nearest resize of the whole mask, origin scaled, then crop to
// the image and trim.
func naiveScaleCrop(m *sv.Mask, origin [2]int, fx, fy float64, w, h int) (o [2]int, out *sv.Mask, vanished bool) {
	x0, y0, x1, y1 := m.W, m.H, -1, -1
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			if m.Bits[y*m.W+x] {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	t := &sv.Mask{W: x1 - x0 + 1, H: y1 - y0 + 1}
	for y := y0; y <= y1; y++ {
		t.Bits = append(t.Bits, m.Bits[y*m.W+x0:y*m.W+x1+1]...)
	}
	m, origin = t, [2]int{origin[0] + x0, origin[1] + y0}
	nw := max(int(math.RoundToEven(float64(m.W)*fx)), 1)
	nh := max(int(math.RoundToEven(float64(m.H)*fy)), 1)
	ox, oy := int(math.RoundToEven(float64(origin[0])*fx)), int(math.RoundToEven(float64(origin[1])*fy))
	any := false
	minX, minY, maxX, maxY := math.MaxInt, math.MaxInt, -1, -1
	bits := map[[2]int]bool{}
	for y := 0; y < nh; y++ {
		sy := min(int((float64(y)+0.5)*float64(m.H)/float64(nh)), m.H-1)
		for x := 0; x < nw; x++ {
			sx := min(int((float64(x)+0.5)*float64(m.W)/float64(nw)), m.W-1)
			if !m.Bits[sy*m.W+sx] {
				continue
			}
			any = true
			X, Y := ox+x, oy+y
			if X < 0 || Y < 0 || X >= w || Y >= h {
				continue
			}
			bits[[2]int{X, Y}] = true
			minX, minY, maxX, maxY = min(minX, X), min(minY, Y), max(maxX, X), max(maxY, Y)
		}
	}
	if !any {
		return o, nil, true
	}
	if maxX < 0 {
		return o, nil, false
	}
	out = &sv.Mask{W: maxX - minX + 1, H: maxY - minY + 1}
	out.Bits = make([]bool, out.W*out.H)
	for p := range bits {
		out.Bits[(p[1]-minY)*out.W+p[0]-minX] = true
	}
	return [2]int{minX, minY}, out, false
}

// TestBitmapTransformMatchesNaive: making only the visible part gives exactly
// what scaling the whole mask and then cropping gives, pixel for pixel.
func TestBitmapTransformMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 400; n++ {
		m := &sv.Mask{W: 1 + rng.Intn(12), H: 1 + rng.Intn(12)}
		m.Bits = make([]bool, m.W*m.H)
		for i := range m.Bits {
			m.Bits[i] = rng.Intn(3) == 0
		}
		m.Bits[rng.Intn(len(m.Bits))] = true
		data, _ := sv.EncodeMask(m)
		origin := [2]int{rng.Intn(30) - 10, rng.Intn(30) - 10}
		g, err := sv.ParseGeometry("bitmap", map[string]json.RawMessage{"bitmap": json.RawMessage(fmt.Sprintf(`{"origin":[%d,%d],"data":%q}`, origin[0], origin[1], data))})
		if err != nil {
			t.Fatal(err)
		}
		fx, fy := []float64{0.13, 0.5, 1, 1.5, 3.7}[rng.Intn(5)], []float64{0.2, 0.5, 1, 2, 4.3}[rng.Intn(5)]
		w, h := 1+rng.Intn(40), 1+rng.Intn(40)
		pieces, err := g.Transform(&sv.Transform{SrcW: 20, SrcH: 20, FX: fx, FY: fy, W: w, H: h, Crop: crop.GEOS{}})
		wantO, want, vanished := naiveScaleCrop(m, origin, fx, fy, w, h)
		var lo *sv.LeftOut
		switch {
		case vanished:
			if !errors.As(err, &lo) {
				t.Fatalf("case %d: vanished mask gave %v, %v", n, pieces, err)
			}
		case err != nil:
			t.Fatalf("case %d: %v", n, err)
		case want == nil:
			if len(pieces) != 0 {
				t.Fatalf("case %d: mask outside the image kept", n)
			}
		default:
			if len(pieces) != 1 {
				t.Fatalf("case %d: %d pieces", n, len(pieces))
			}
			o, got, err := pieces[0].(*sv.Bitmap).Mask()
			if err != nil || o != wantO || fmt.Sprint(got.W, got.H, got.Bits) != fmt.Sprint(want.W, want.H, want.Bits) {
				t.Fatalf("case %d (%dx%d at %v, ×%g,%g into %dx%d): got %v %v, want %v %v (%v)", n, m.W, m.H, origin, fx, fy, w, h, o, got, wantO, want, err)
			}
		}
	}
}

// TestAnnotationSizeAndRotation: the annotation's size must be the video's,
// stored or upright; labels drawn on the stored frame of a phone video are
// turned with it when the output is upright, and the other way round.
func TestAnnotationSizeAndRotation(t *testing.T) {
	_, meta, _ := load(t)
	pointAnn := func(w, h int) *sv.VideoAnnotation {
		js := fmt.Sprintf(`{"size":{"height":%d,"width":%d},"objects":[{"key":"a","classTitle":"wheel"}],
			"frames":[{"index":0,"figures":[{"objectKey":"a","geometryType":"point","geometry":{"points":{"exterior":[[30,10]],"interior":[]}}},
			{"objectKey":"a","geometryType":"bitmap","geometry":{"bitmap":{"origin":[30,10],"data":%q}}}]}]}`, h, w, fullMask(t, 3, 2))
		ann, err := sv.ParseVideoAnnotation([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return ann
	}
	phone := sv.Video{Frames: 1, Width: 200, Height: 100, Rotation: 90, Upright: true} // stored 200x100, shown 100x200
	for _, c := range []struct {
		name   string
		annW   int
		annH   int
		video  sv.Video
		outW   int
		outH   int
		point  string // where [30,10] lands
		bitmap string // where the 3x2 mask at [30,10] lands, and its size
	}{
		{"upright labels, upright output", 100, 200, phone, 100, 200, "[30 10]", "[30 10] 3x2"},
		// stored (x, y) → upright (H-1-y, x): (30,10) → (89, 30); the mask turns to 2x3
		{"stored labels, upright output", 200, 100, phone, 100, 200, "[89 30]", "[88 30] 2x3"},
		{"stored labels, upright output, half size", 200, 100, phone, 50, 100, "[44 15]", "[44 15] 1x2"},
		// upright → stored is a 270° turn: (x, y) → (y, W-1-x) with W = 100
		{"upright labels, stored output", 100, 200, sv.Video{Frames: 1, Width: 200, Height: 100, Rotation: 90}, 200, 100, "[10 69]", "[10 67] 2x3"},
		{"180°: the size cannot tell, taken as the output's", 200, 100, sv.Video{Frames: 1, Width: 200, Height: 100, Rotation: 180, Upright: true}, 200, 100, "[30 10]", "[30 10] 3x2"},
	} {
		s, err := sv.NewSampler(pointAnn(c.annW, c.annH), meta, nil, c.video, crop.GEOS{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		img, _, err := s.Image(0, c.outW, c.outH)
		if err != nil || len(img.Objects) != 2 {
			t.Fatalf("%s: %v %+v", c.name, err, img)
		}
		p := img.Objects[0].Geometry.(*sv.Point).P
		bm := img.Objects[1].Geometry.(*sv.Bitmap)
		if got := fmt.Sprint(p); got != c.point {
			t.Errorf("%s: point at %s, want %s", c.name, got, c.point)
		}
		if got := fmt.Sprintf("%v %dx%d", bm.Origin, bm.W, bm.H); got != c.bitmap {
			t.Errorf("%s: bitmap at %s, want %s", c.name, got, c.bitmap)
		}
	}
	_, err := sv.NewSampler(pointAnn(150, 100), meta, nil, phone, crop.GEOS{})
	if err == nil || err.Error() != "size: 150x100 (width x height) is not the video's size 200x100 (upright 100x200)" {
		t.Errorf("size mismatch: %v", err)
	}
}

// TestNonFiniteGeometry: coordinates beyond any image (1e308 would scale to
// +Inf and write no JSON) are refused where they are read, with their path; a
// geometry built in code is cropped to the frame before it is scaled, and one
// scaled to ±Inf is an error, not a label silently lost.
func TestNonFiniteGeometry(t *testing.T) {
	for _, c := range []struct{ typ, json, want string }{
		{"polygon", `{"points":{"exterior":[[0,0],[1e308,0],[5,5]],"interior":[]}}`, "points.exterior[1]: [1e+308, 0] is not a point within ±2^30 pixels"},
		{"polygon", `{"points":{"exterior":[[0,0],[9,0],[5,5]],"interior":[[[1,1],[2,-2e9],[2,2]]]}}`, "points.interior[0][1]: [2, -2e+09] is not a point within ±2^30 pixels"},
		{"line", `{"points":{"exterior":[[0,0],[5,1e300]],"interior":[]}}`, "points.exterior[1]: [5, 1e+300] is not a point within ±2^30 pixels"},
		{"graph", `{"nodes":{"a":{"loc":[1,2]},"b":{"loc":[3e9,2]}}}`, "nodes.b.loc: [3e+09, 2] is not a point within ±2^30 pixels"},
		{"bitmap", `{"bitmap":{"origin":[4000000000,0],"data":"x"}}`, "bitmap.origin: [4e+09, 0] is not a point within ±2^30 pixels"},
	} {
		var m map[string]json.RawMessage
		json.Unmarshal([]byte(c.json), &m)
		if _, err := sv.ParseGeometry(c.typ, m); err == nil || err.Error() != c.want {
			t.Errorf("%s %s: got %v, want %s", c.typ, c.json, err, c.want)
		}
	}
	_, meta, _ := load(t)
	ann := &sv.VideoAnnotation{
		Objects: []sv.VideoObject{{Key: "a", ClassTitle: "road"}},
		Frames:  []sv.Frame{{Index: 0, Figures: []sv.Figure{{ObjectKey: "a", Geometry: &sv.Polygon{Exterior: []sv.Pt{{0, 0}, {math.MaxFloat64, 0}, {5, 5}}}}}}},
	}
	s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 1, Width: 10, Height: 10}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	// Image crops to the frame before it scales (Transform.Apply, the SDK's
	// order), so what is scaled is the finite piece inside the 10x10 frame.
	img, _, err := s.Image(0, 20, 20)
	if err != nil || len(img.Objects) != 1 {
		t.Fatalf("got %v, %+v", err, img)
	}
	for _, p := range img.Objects[0].Geometry.(*sv.Polygon).Exterior {
		if p[0] < 0 || p[0] > 19 || p[1] < 0 || p[1] > 19 {
			t.Errorf("piece %v is not inside the 20x20 image", img.Objects[0].Geometry)
		}
	}
	// scaled uncropped, the point overflows: an error, not a label lost
	g := ann.Frames[0].Figures[0].Geometry
	if _, err := g.Transform(&sv.Transform{SrcW: 10, SrcH: 10, FX: 2, FY: 2, W: 20, H: 20, Crop: crop.GEOS{}}); err == nil || !strings.HasPrefix(err.Error(), "point [1.7976931348623157e+308, 0] becomes [+Inf, 0]") {
		t.Fatalf("got %v", err)
	}
}
