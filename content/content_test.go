package content

import (
	"testing"

	"github.com/vpipe/vpipe/media"
)

// plane is a w×h 8-bit luma plane filled by fn.
func plane(w, h int, fn func(x, y int) uint8) *media.Luma {
	pix := make([]byte, w*h*3/2) // as a yuv420p buffer: Y first
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			pix[y*w+x] = fn(x, y)
		}
	}
	return &media.Luma{Pix: pix, Width: w, Height: h, Stride: w, Step: 1}
}

func TestMeasures(t *testing.T) {
	black := Measure(plane(320, 180, func(int, int) uint8 { return 0 }))
	white := Measure(plane(320, 180, func(int, int) uint8 { return 255 }))
	ramp := Measure(plane(320, 180, func(x, _ int) uint8 { return uint8(255 - x*255/319) }))
	noisy := Measure(plane(320, 180, func(x, y int) uint8 { return uint8(255 - x*255/319 - (x*7+y*13)%3) }))
	if d := Difference(&black, &white); d != 1 {
		t.Errorf("black vs white: %v, want 1", d)
	}
	if d := Difference(&ramp, &ramp); d != 0 {
		t.Errorf("same: %v", d)
	}
	// falling left to right: every one of the 64 bits set
	if ramp.Hash != ^uint64(0) || black.Hash != 0 {
		t.Errorf("hashes: ramp %x black %x", ramp.Hash, black.Hash)
	}
	if d := Distance(&ramp, &noisy); d > 4 {
		t.Errorf("ramp vs ramp with noise: %d bits apart", d)
	}
	if d := Difference(&ramp, &noisy); d > 0.01 {
		t.Errorf("ramp vs ramp with noise: difference %v", d)
	}

	f := Filter{Scene: 0.1, Dedup: -1}
	var got []bool
	for _, x := range []*Features{&black, &black, &ramp, &noisy, &white, &black} {
		got = append(got, f.Keep(x))
	}
	if want := []bool{true, false, true, false, true, true}; fmtB(got) != fmtB(want) {
		t.Errorf("scene: %v, want %v", got, want)
	}
	f = Filter{Dedup: 5}
	got = nil
	for _, x := range []*Features{&ramp, &noisy, &black, &white, &ramp} {
		got = append(got, f.Keep(x))
	}
	// black and white hash alike (flat): dedup alone cannot tell them
	if want := []bool{true, false, true, false, true}; fmtB(got) != fmtB(want) {
		t.Errorf("dedup: %v, want %v", got, want)
	}
}

func fmtB(b []bool) string {
	s := ""
	for _, x := range b {
		s += map[bool]string{true: "1", false: "0"}[x]
	}
	return s
}

// BenchmarkMeasure1080p: the cost of both measures on one 1080p frame (the
// budget is 1 ms a frame).
func BenchmarkMeasure1080p(b *testing.B) {
	l := plane(1920, 1080, func(x, y int) uint8 { return uint8(x ^ y) })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Measure(l)
	}
}
