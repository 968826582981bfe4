package media_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math/rand"
	"testing"

	"github.com/vpipe/vpipe/media"
)

// TestLossyOddSizes: JPEG and WebP of sizes no multiple of the codecs' 8 and
// 16 pixel blocks (1x1, 3x2, 4095x3, …) decode with the ffmpeg CLI (and
// image/jpeg) to the same size; lossless WebP to the same pixels.
func TestLossyOddSizes(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, s := range [][2]int{{1, 1}, {3, 2}, {4095, 3}, {17, 9}, {33, 15}, {2, 1}, {1, 2}} {
		im := &media.RGB{Width: s[0], Height: s[1], Pix: make([]byte, 3*s[0]*s[1])}
		r.Read(im.Pix)
		for _, o := range []media.EncodeOptions{{Format: "jpeg", Quality: 90}, {Format: "webp", Quality: 90}, {Format: "webp", Lossless: true}} {
			t.Run(fmt.Sprintf("%dx%d_%s_%v", s[0], s[1], o.Format, o.Lossless), func(t *testing.T) {
				b := encode(t, o, im)
				got := cliRGB(t, b, o.Ext())
				if len(got) != len(im.Pix) {
					t.Fatalf("ffmpeg decoded %d bytes, want %d", len(got), len(im.Pix))
				}
				if o.Lossless && !bytes.Equal(got, im.Pix) {
					t.Fatal("lossless differs")
				}
				if o.Format == "jpeg" {
					img, err := jpeg.Decode(bytes.NewReader(b))
					if err != nil || img.Bounds().Dx() != s[0] || img.Bounds().Dy() != s[1] {
						t.Fatal(err)
					}
				}
			})
		}
	}
}
