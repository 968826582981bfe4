// Package content holds the content rules of a selection: scene_threshold and
// dedup. Each looks at a decoded picture through a small grey copy made from
// its luma samples in place (no conversion, no scaling library): a 32×32 mean
// grid for the scene measure and a 9×8 one for a 64-bit dHash. Everything is
// integer arithmetic on the decoded samples, so the same video gives the same
// kept set on every run and machine.
package content

import (
	"math/bits"

	"github.com/vpipe/vpipe/media"
)

// Grid sizes: the scene thumbnail, and the dHash's 9 columns × 8 rows.
const (
	ThumbW, ThumbH = 32, 32
	hashW, hashH   = 9, 8
	// perAxis bounds the samples averaged per grid cell along each axis: a
	// cell averages at most 8×8 evenly spread samples, which keeps a 1080p
	// frame well under a millisecond.
	perAxis = 8
)

// Features are what the rules compare of one frame.
type Features struct {
	Thumb [ThumbW * ThumbH]uint8 // mean brightness of each cell
	Hash  uint64                 // dHash: bit r*8+c is set when cell (c, r) is brighter than (c+1, r)
}

// Measure computes a picture's features from its luma samples.
func Measure(l *media.Luma) Features {
	var f Features
	grid(l, ThumbW, ThumbH, f.Thumb[:])
	var h [hashW * hashH]uint8
	grid(l, hashW, hashH, h[:])
	for r := 0; r < hashH; r++ {
		for c := 0; c < hashW-1; c++ {
			if h[r*hashW+c] > h[r*hashW+c+1] {
				f.Hash |= 1 << (r*8 + c)
			}
		}
	}
	return f
}

// grid fills out (gw×gh) with each cell's mean brightness, rounded.
func grid(l *media.Luma, gw, gh int, out []uint8) {
	var xs [perAxis]int
	for cy := 0; cy < gh; cy++ {
		y0, y1 := cy*l.Height/gh, max((cy+1)*l.Height/gh, cy*l.Height/gh+1)
		ny := min(perAxis, y1-y0)
		for cx := 0; cx < gw; cx++ {
			x0, x1 := cx*l.Width/gw, max((cx+1)*l.Width/gw, cx*l.Width/gw+1)
			nx := min(perAxis, x1-x0)
			for k := 0; k < nx; k++ {
				xs[k] = min(x0+k*(x1-x0)/nx, l.Width-1)
			}
			sum := 0
			for k := 0; k < ny; k++ {
				y := min(y0+k*(y1-y0)/ny, l.Height-1)
				for _, x := range xs[:nx] {
					sum += int(l.At(x, y))
				}
			}
			n := nx * ny
			out[cy*gw+cx] = uint8((sum + n/2) / n)
		}
	}
}

// Difference is the scene measure: the mean absolute difference of two
// frames' 32×32 thumbnails, as a fraction of full scale, in [0, 1] (0: the
// same, 1: black against white).
func Difference(a, b *Features) float64 {
	sum := 0
	for i := range a.Thumb {
		d := int(a.Thumb[i]) - int(b.Thumb[i])
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return float64(sum) / float64(255*len(a.Thumb))
}

// Distance is the number of bits in which two frames' dHashes differ (0–64).
func Distance(a, b *Features) int { return bits.OnesCount64(a.Hash ^ b.Hash) }

// Filter keeps or drops each frame of one video, in order, against the last
// frame it kept. The first frame is always kept.
type Filter struct {
	// Scene, if > 0, keeps a frame only when its Difference from the last kept
	// one is above it.
	Scene float64
	// Dedup, if >= 0, drops a frame whose Distance to the last kept one is at
	// most it. With both, a frame is kept when it passes both.
	Dedup int
	last  Features
	have  bool
}

// Off tells whether the filter keeps everything.
func (f *Filter) Off() bool { return f.Scene <= 0 && f.Dedup < 0 }

// Keep decides about the next frame; a kept frame becomes the one the next
// frames are compared with.
func (f *Filter) Keep(x *Features) bool {
	keep := !f.have ||
		((f.Scene <= 0 || Difference(x, &f.last) > f.Scene) && (f.Dedup < 0 || Distance(x, &f.last) > f.Dedup))
	if keep {
		f.last, f.have = *x, true
	}
	return keep
}
