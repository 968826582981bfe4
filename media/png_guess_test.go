package media_test

import (
	"math/rand"
	"testing"

	"github.com/vpipe/vpipe/media"
)

// TestPNGBufferFollowsSize: an encoder's output buffer is sized from the
// images of the size it encodes now, not the largest it ever encoded: encoders
// are shared by every video of a run, and after a 1920x1080 video each
// 64x36 frame of the next took a buffer of the large frames' class (4 MiB
// for a few KB), held through the write queue.
func TestPNGBufferFollowsSize(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	img := func(w, h int) *media.RGB {
		im := &media.RGB{Width: w, Height: h, Pix: make([]byte, 3*w*h)}
		r.Read(im.Pix)
		return im
	}
	e := media.NewPNGEncoder(1)
	defer e.Close()
	big, small := img(1920, 1080), img(64, 36)
	for i := 0; i < 2; i++ {
		b, err := e.Encode(big)
		if err != nil {
			t.Fatal(err)
		}
		media.PutBuf(b)
	}
	for i := 0; i < 3; i++ {
		b, err := e.Encode(small)
		if err != nil {
			t.Fatal(err)
		}
		if raw := 3 * 64 * 36; cap(b) > 4*raw {
			t.Fatalf("a %d-byte PNG of a 64x36 frame (%d bytes raw) in a %d-byte buffer", len(b), raw, cap(b))
		}
		media.PutBuf(b)
	}
}
