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
}

// comparePixels compares two images of the same size.
func comparePixels(a, b *image.RGBA) pixelDiff {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	d := pixelDiff{total: w * h, psnr: math.Inf(1)}
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
			}
			d.differ++
			for c := 0; c < 3; c++ {
				e := float64(pa[c]) - float64(pb[c])
				sq += e * e
			}
		}
	}
	if d.differ > 0 {
		d.psnr = 10 * math.Log10(255*255/(sq/float64(3*d.total)))
	}
	return d
}

// comparePictures compares the dataset's image file with the re-derived one:
// exact pixels for lossless formats, PSNR at least LossyFloor for lossy ones
// (lossy names the format then). It returns the mismatches (reason, detail)
// and the PSNR found.
func comparePictures(have, made []byte, lossy string) (reason, detail string, psnr float64) {
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
	switch {
	case d.differ == 0:
		return "", "", d.psnr
	case lossy == "":
		return "pixels", fmt.Sprintf("%d of %d pixels differ, the first at (%d,%d): dataset rgb%v, video rgb%v",
			d.differ, d.total, d.x, d.y, d.a, d.b), d.psnr
	case d.psnr < LossyFloor:
		return "pixels", fmt.Sprintf("PSNR %.1f dB, below the %g dB floor of %s (%d of %d pixels differ)",
			d.psnr, LossyFloor, lossy, d.differ, d.total), d.psnr
	}
	return "", "", d.psnr
}
