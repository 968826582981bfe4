package verify

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
)

// TestVerifyLossyCrossBuild: a lossy image another build might write (a level
// or two off here and there over the frame) passes only with --cross-build;
// a 10×10 patch changed by 30 levels on a 640×360 frame, which keeps the
// frame above the 50 dB floor, fails both ways by its 8×8 block.
func TestVerifyLossyCrossBuild(t *testing.T) {
	base := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for i := range base.Pix {
		base.Pix[i] = byte(i * 7 % 200)
		if i%4 == 3 {
			base.Pix[i] = 255 // opaque, as vpipe writes
		}
	}
	rounding, patch := clone(base), clone(base)
	for i := 0; i < len(rounding.Pix); i += 4 * 5 { // every fifth pixel's red, 2 levels up
		rounding.Pix[i] += 2
	}
	for y := 100; y < 110; y++ {
		for x := 200; x < 210; x++ {
			for c := range 3 {
				patch.Pix[patch.PixOffset(x, y)+c] += 30
			}
		}
	}
	for _, c := range []struct {
		name      string
		im        *image.RGBA
		exact, cb bool // passes exactly, across builds
	}{
		{"rounding", rounding, false, true},
		{"patch", patch, false, false},
	} {
		for _, cross := range []bool{false, true} {
			reason, detail, psnr := comparePictures(pngBytes(t, base), pngBytes(t, c.im), lossyCheck{format: "jpeg", crossBuild: cross})
			if want := map[bool]bool{false: c.exact, true: c.cb}[cross]; (reason == "") != want {
				t.Errorf("%s, cross-build %v: reason %q (%s), want pass %v", c.name, cross, reason, detail, want)
			}
			if psnr < LossyFloor {
				t.Errorf("%s: frame PSNR %.1f dB: the case is meant to pass the frame floor", c.name, psnr)
			}
			if cross && reason != "" && !strings.Contains(detail, "the worst 8x8 block at (200,104)") {
				t.Errorf("%s: the block is not named: %s", c.name, detail)
			}
		}
	}
	// a lossless format is exact whatever the flag
	if reason, _, _ := comparePictures(pngBytes(t, base), pngBytes(t, rounding), lossyCheck{crossBuild: true}); reason != "pixels" {
		t.Errorf("lossless with cross-build: %q", reason)
	}
}

func clone(im *image.RGBA) *image.RGBA {
	out := image.NewRGBA(im.Rect)
	copy(out.Pix, im.Pix)
	return out
}

func pngBytes(t *testing.T, im image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
