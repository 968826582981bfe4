package media

import (
	"fmt"
	"math"
)

// Scale filters, as in swscale (and the ffmpeg CLI's -sws_flags): one for
// every name of ScaleFilters.
var scaleFlags = map[string]int{
	"fast_bilinear": 1, "bilinear": 2, "bicubic": 4, "neighbor": 0x10, "area": 0x20, "lanczos": 0x200,
}

// RGB is a packed 8-bit RGB image (stride 3*Width) in a pooled buffer.
type RGB struct {
	Width, Height int
	Pix           []byte
}

// Release returns the pixels to the pool.
func (im *RGB) Release() {
	PutBuf(im.Pix)
	im.Pix = nil
}

// Converter turns Pictures into upright RGB at a target size. It converts and
// resizes in one swscale pass straight from the decoder's YUV (the cheapest path:
// see docs/DESIGN.md), then applies the display rotation. One per goroutine.
type Converter struct {
	flags int
	cur   *sws
}

// NewConverter makes a converter using the named swscale filter.
func NewConverter(filter string) (*Converter, error) {
	f, ok := scaleFlags[filter]
	if !ok {
		return nil, fmt.Errorf("unknown scale filter %q", filter)
	}
	return &Converter{flags: f}, nil
}

// OutputSize is the size a frame of display size w×h gets for a requested
// height×width, where 0 on one side keeps the aspect ratio and 0 on both keeps
// the size. The kept side is the SDK's restore_proportional_size (supervisely
// imaging/image.py): max(1, round(asked / its side × other side)), computed in
// that order in float64 and rounded half to even as Python's round is, so
// 256x144 at width 200 is 200x112 (112.5 → 112).
func OutputSize(w, h, reqH, reqW int) (int, int) {
	switch {
	case reqH <= 0 && reqW <= 0:
		return w, h
	case reqH <= 0:
		return reqW, keepAspect(reqW, w, h)
	case reqW <= 0:
		return keepAspect(reqH, h, w), reqH
	}
	return reqW, reqH
}

// keepAspect is max(1, round_half_even(asked / side × other)).
func keepAspect(asked, side, other int) int {
	return max(1, int(math.RoundToEven(float64(asked)/float64(side)*float64(other))))
}

// Convert produces the upright RGB image of p at outW×outH (display orientation).
func (c *Converter) Convert(p *Picture, outW, outH int) (*RGB, error) {
	src, w, h := p.Buf, p.Width, p.Height
	rot := p.Rotation
	if rot != 0 {
		// Rotate the YUV planes first, as the ffmpeg CLI's autorotate does, so
		// chroma siting and the scale filter's axes are the same as there.
		rw, rh := w, h
		if rot != 180 {
			rw, rh = h, w
		}
		buf := getBuf(len(p.Buf))
		if rotatePlanes(p.Buf, buf, w, h, p.PixFmt, rot) {
			defer PutBuf(buf)
			src, w, h, rot = buf, rw, rh, 0
		} else {
			PutBuf(buf)
		}
	}
	sw, sh := outW, outH // size before a rotation still to do
	if rot == 90 || rot == 270 {
		sw, sh = outH, outW
	}
	k := swsKey{w, h, p.PixFmt, sw, sh, c.flags, p.Colorspace, p.ColorRange}
	if c.cur == nil || c.cur.key != k {
		c.cur.free()
		c.cur = nil
		s, err := newSws(k)
		if err != nil {
			return nil, err
		}
		c.cur = s
	}
	im := &RGB{Width: sw, Height: sh, Pix: getBuf(3 * sw * sh)}
	if err := c.cur.scale(src, im.Pix, 3*sw); err != nil {
		im.Release()
		return nil, err
	}
	if rot != 0 {
		r := rotate(im, rot)
		im.Release()
		im = r
	}
	return im, nil
}

// Close frees the swscale context.
func (c *Converter) Close() {
	c.cur.free()
	c.cur = nil
}

// rotate turns an image clockwise by 90, 180 or 270 degrees.
func rotate(src *RGB, deg int) *RGB {
	w, h := src.Width, src.Height
	dw, dh := w, h
	if deg != 180 {
		dw, dh = h, w
	}
	dst := &RGB{Width: dw, Height: dh, Pix: getBuf(3 * dw * dh)}
	s, d := src.Pix, dst.Pix
	for y := 0; y < h; y++ {
		row := s[3*y*w : 3*(y+1)*w]
		for x := 0; x < w; x++ {
			var dx, dy int
			switch deg {
			case 90:
				dx, dy = h-1-y, x
			case 180:
				dx, dy = w-1-x, h-1-y
			default: // 270
				dx, dy = y, w-1-x
			}
			o := 3 * (dy*dw + dx)
			copy(d[o:o+3], row[3*x:3*x+3])
		}
	}
	return dst
}
