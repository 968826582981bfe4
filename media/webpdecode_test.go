package media_test

import (
	"testing"

	"github.com/vpipe/vpipe/media"
)

// DecodeWebP gives back exactly the pixels a lossless WebP holds, and close
// ones for a lossy WebP; garbage is an error, not a panic.
func TestDecodeWebP(t *testing.T) {
	w, h := 37, 21
	im := &media.RGB{Width: w, Height: h, Pix: make([]byte, 3*w*h)}
	for i := range im.Pix {
		im.Pix[i] = byte(i * 7 % 251)
	}
	for _, o := range []media.EncodeOptions{{Format: "webp", Lossless: true}, {Format: "webp", Quality: 90}} {
		enc, err := media.NewEncoder(o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := enc.Encode(im)
		enc.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := media.DecodeWebP(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rect.Dx() != w || got.Rect.Dy() != h {
			t.Fatalf("%+v: %v, want %dx%d", o, got.Rect, w, h)
		}
		worst := 0
		for i := 0; i < w*h; i++ {
			for c := 0; c < 3; c++ {
				d := int(got.Pix[4*i+c]) - int(im.Pix[3*i+c])
				worst = max(worst, d, -d)
			}
			if got.Pix[4*i+3] != 255 {
				t.Fatalf("alpha %d at pixel %d", got.Pix[4*i+3], i)
			}
		}
		if o.Lossless && worst != 0 {
			t.Fatalf("lossless: a channel differs by %d", worst)
		}
	}
	if _, err := media.DecodeWebP([]byte("RIFF\x00\x00\x00\x00WEBPnot")); err == nil {
		t.Fatal("garbage decoded")
	}
}
