package media_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestResizeMatchesFFmpeg: converting and resizing in one swscale pass gives, byte
// for byte, what the CLI's scale filter gives with the same flags, rotated input
// included (both turn the YUV planes before scaling).
func TestResizeMatchesFFmpeg(t *testing.T) {
	for _, name := range []string{"h264_bframes", "odd_size", "h264_10bit", "rotated"} {
		v := testcorpus.Get(name)
		path := testcorpus.Path(t, v)
		for _, sz := range [][2]int{{100, 75}, {333, 250}} {
			for _, filter := range []string{"bicubic", "bilinear", "area"} {
				t.Run(fmt.Sprintf("%s_%dx%d_%s", name, sz[0], sz[1], filter), func(t *testing.T) {
					want := []int{0, 7, 13, 26}
					ref, _, _ := testcorpus.Reference(t, path, want, fmt.Sprintf("%d:%d", sz[0], sz[1]), filter)
					vid, x := openScan(t, path)
					defer vid.Close()
					conv, err := media.NewConverter(filter)
					if err != nil {
						t.Fatal(err)
					}
					defer conv.Close()
					k := 0
					err = vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
						defer p.Release()
						im, err := conv.Convert(p, sz[0], sz[1])
						if err != nil {
							return err
						}
						defer im.Release()
						if im.Width != sz[0] || im.Height != sz[1] {
							return fmt.Errorf("got %dx%d", im.Width, im.Height)
						}
						if d := maxDiff(im.Pix, ref[k]); d != 0 {
							return fmt.Errorf("frame %d: max difference %d from ffmpeg", p.Index, d)
						}
						k++
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

func maxDiff(a, b []byte) int {
	m := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > m {
			m = d
		}
	}
	return m
}
