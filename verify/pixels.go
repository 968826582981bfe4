package verify

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"

	"github.com/vpipe/vpipe/media"
)

// decodeImage decodes a PNG, JPEG or WebP file, told by its first bytes, to
// RGBA. Both sides of a comparison go through the same decoder, so what is
// compared is what the files hold, not how a decoder renders them.
func decodeImage(b []byte) (*image.RGBA, error) {
	var im image.Image
	var err error
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		im, err = png.Decode(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte{0xff, 0xd8}):
		im, err = jpeg.Decode(bytes.NewReader(b))
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return media.DecodeWebP(b)
	default:
		return nil, fmt.Errorf("not a PNG, JPEG or WebP file (%d bytes)", len(b))
	}
	if err != nil {
		return nil, err
	}
	if rgba, ok := im.(*image.RGBA); ok && rgba.Rect.Min == (image.Point{}) {
		return rgba, nil
	}
	out := image.NewRGBA(image.Rect(0, 0, im.Bounds().Dx(), im.Bounds().Dy()))
	draw.Draw(out, out.Rect, im, im.Bounds().Min, draw.Src)
	return out, nil
}

// pixelDiff is how two images of one size differ in their RGB channels
// (vpipe writes opaque images: alpha is not compared).
type pixelDiff struct {
	differ, total int
	x, y          int     // the first pixel that differs, in row order
	a, b          [3]byte // its values in the dataset, and re-derived
	psnr          float64 // +Inf when equal
	// block is the PSNR of the worst 8×8 block (+Inf when equal) and bx, by
	// its top-left pixel: a local edit that the whole frame's PSNR dilutes
	// (a 10×10 patch on 1080p moves it by little) stands out in its block.
	block  float64
	bx, by int
}

// blockSide is the side of the blocks the worst local error is measured on:
// a JPEG's DCT block, and small enough that one visible edit fills much of it.
const blockSide = 8

// comparePixels compares two images of the same size.
func comparePixels(a, b *image.RGBA) pixelDiff {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	d := pixelDiff{total: w * h, psnr: math.Inf(1), block: math.Inf(1)}
	bw := (w + blockSide - 1) / blockSide
	var blocks map[int]float64 // squared error by block, only where pixels differ
	var sq float64
	for y := 0; y < h; y++ {
		ra, rb := a.Pix[y*a.Stride:y*a.Stride+4*w], b.Pix[y*b.Stride:y*b.Stride+4*w]
		if bytes.Equal(ra, rb) {
			continue
		}
		for x := 0; x < w; x++ {
			pa, pb := ra[4*x:4*x+3], rb[4*x:4*x+3]
			if pa[0] == pb[0] && pa[1] == pb[1] && pa[2] == pb[2] {
				continue
			}
			if d.differ == 0 {
				d.x, d.y = x, y
				copy(d.a[:], pa)
				copy(d.b[:], pb)
				blocks = map[int]float64{}
			}
			d.differ++
			var e2 float64
			for c := 0; c < 3; c++ {
				e := float64(pa[c]) - float64(pb[c])
				e2 += e * e
			}
			sq += e2
			blocks[(y/blockSide)*bw+x/blockSide] += e2
		}
	}
	if d.differ > 0 {
		d.psnr = psnr(sq, 3*d.total)
		d.worstBlock(blocks, bw, w, h)
	}
	return d
}

// worstBlock finds the block of lowest PSNR (an edge block counts only the
// pixels it has).
func (d *pixelDiff) worstBlock(blocks map[int]float64, bw, w, h int) {
	for i, sq := range blocks {
		bx, by := (i%bw)*blockSide, (i/bw)*blockSide
		n := (min(bx+blockSide, w) - bx) * (min(by+blockSide, h) - by)
		if p := psnr(sq, 3*n); p < d.block || p == d.block && (by < d.by || by == d.by && bx < d.bx) {
			d.block, d.bx, d.by = p, bx, by
		}
	}
}

// psnr is the PSNR, in dB, of a squared error summed over n 8-bit samples.
func psnr(sq float64, n int) float64 {
	return 10 * math.Log10(255*255/(sq/float64(n)))
}

// lossyCheck is how a lossy image is compared: exactly (the same encoder
// build re-derives the same pixels), or, across builds, within LossyFloor
// over the frame and BlockFloor in every 8×8 block.
type lossyCheck struct {
	format     string // "jpeg", "webp"; "" for a lossless format
	crossBuild bool
}

// comparePictures compares the dataset's image file with the re-derived one:
// exact pixels, but for a lossy format compared across builds (see
// lossyCheck). It returns the mismatch (reason, detail) and the PSNR found.
func comparePictures(have, made []byte, lc lossyCheck) (reason, detail string, psnr float64) {
	if bytes.Equal(have, made) {
		return "", "", math.Inf(1)
	}
	a, err := decodeImage(have)
	if err != nil {
		return "unreadable", fmt.Sprintf("the dataset's image does not decode: %v", err), 0
	}
	b, err := decodeImage(made)
	if err != nil { // vpipe's own encoder: a bug, said as such
		return "unreadable", fmt.Sprintf("the re-derived image does not decode: %v", err), 0
	}
	if a.Rect.Size() != b.Rect.Size() {
		return "size", fmt.Sprintf("dataset %dx%d, video %dx%d", a.Rect.Dx(), a.Rect.Dy(), b.Rect.Dx(), b.Rect.Dy()), 0
	}
	d := comparePixels(a, b)
	differ := fmt.Sprintf("%d of %d pixels differ, the first at (%d,%d): dataset rgb%v, video rgb%v",
		d.differ, d.total, d.x, d.y, d.a, d.b)
	local := fmt.Sprintf("PSNR %.1f dB, the worst 8x8 block at (%d,%d) %.1f dB", d.psnr, d.bx, d.by, d.block)
	switch {
	case d.differ == 0:
		return "", "", d.psnr
	case lc.format == "":
		return "pixels", differ, d.psnr
	case !lc.crossBuild:
		return "pixels", fmt.Sprintf("%s; %s (the same %s encoder re-derives a %s exactly: if another build wrote the dataset, see --cross-build)",
			differ, local, encoderOf(lc.format), lc.format), d.psnr
	case d.psnr < LossyFloor || d.block < BlockFloor:
		return "pixels", fmt.Sprintf("%s, below the cross-build floors of %g dB (frame) and %g dB (block) (%d of %d pixels differ)",
			local, LossyFloor, BlockFloor, d.differ, d.total), d.psnr
	}
	return "", "", d.psnr
}

// encoderOf names the library that encodes a lossy format.
func encoderOf(format string) string {
	if format == media.FormatWebP {
		return "libwebp"
	}
	return "libjpeg-turbo"
}
