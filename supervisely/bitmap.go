package supervisely

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"sort"
)

// Mask is a binary mask, row-major.
type Mask struct {
	W, H int
	Bits []bool
}

// maxMaskPixels bounds a mask decoded where no image size is known (an image
// annotation read back): a 16k × 16k image, so a hostile PNG header cannot make
// vpipe allocate without limit. A video's masks are bounded by its frame.
const maxMaskPixels = 1 << 28

// maskPNG opens a bitmap's data: base64 of zlib of a PNG (the SDK's form), or
// base64 of a bare PNG (a PNG never starts with a valid zlib header). The PNG is
// inflated as it is read, never whole.
func maskPNG(data string) (io.Reader, error) {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
		return zr, nil
	}
	return bytes.NewReader(raw), nil
}

// maskSize reads the size of a bitmap's mask from its PNG header.
func maskSize(data string) (w, h int, err error) {
	r, err := maskPNG(data)
	if err != nil {
		return 0, 0, err
	}
	cfg, err := png.DecodeConfig(r)
	if err != nil {
		return 0, 0, fmt.Errorf("not a PNG mask: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxMaskPixels {
		return 0, 0, fmt.Errorf("mask size %dx%d out of range", cfg.Width, cfg.Height)
	}
	return cfg.Width, cfg.Height, nil
}

// DecodeMask reads a bitmap's data: base64 of zlib of a PNG (the SDK's form), or
// base64 of a bare PNG. With alpha, the mask is alpha != 0; otherwise any channel != 0.
func DecodeMask(data string) (*Mask, error) {
	w, h, err := maskSize(data)
	if err != nil {
		return nil, err
	}
	return decodeMask(data, w, h)
}

// decodeMask decodes a mask whose header said w×h (already checked against its
// bounds), so the decoder allocates no more than that.
func decodeMask(data string, w, h int) (*Mask, error) {
	r, err := maskPNG(data)
	if err != nil {
		return nil, err
	}
	img, err := png.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("not a PNG mask: %w", err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("not a PNG mask: %dx%d, its header said %dx%d", b.Dx(), b.Dy(), w, h)
	}
	m := &Mask{W: w, H: h, Bits: make([]bool, w*h)}
	if p, ok := img.(*image.Paletted); ok { // the SDK's form: one lookup per palette entry
		var set [256]bool
		alpha := hasAlpha(img)
		for i, c := range p.Palette {
			r, g, bl, a := c.RGBA()
			set[i] = alpha && a != 0 || !alpha && (r != 0 || g != 0 || bl != 0)
		}
		for y := 0; y < h; y++ {
			row := p.Pix[y*p.Stride : y*p.Stride+w]
			for x, v := range row {
				m.Bits[y*w+x] = set[v]
			}
		}
		return m, nil
	}
	alpha := hasAlpha(img)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if alpha {
				m.Bits[y*w+x] = a != 0
			} else {
				m.Bits[y*w+x] = r != 0 || g != 0 || bl != 0
			}
		}
	}
	return m, nil
}

func hasAlpha(img image.Image) bool {
	switch im := img.(type) {
	case *image.Paletted:
		for _, c := range im.Palette {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return true
			}
		}
		return false
	case *image.Gray, *image.Gray16, *image.RGBA64, *image.YCbCr:
		return false
	case *image.RGBA:
		return !im.Opaque()
	case *image.NRGBA:
		return true
	case *image.NRGBA64:
		return true
	}
	return false
}

// EncodeMask writes the SDK's form: a palette PNG [transparent black, white],
// zlib-compressed, base64.
func EncodeMask(m *Mask) (string, error) {
	img := image.NewPaletted(image.Rect(0, 0, m.W, m.H), color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 255, 255, 255}})
	for i, v := range m.Bits {
		if v {
			img.Pix[(i/m.W)*img.Stride+i%m.W] = 1
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		return "", err
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(p.Bytes())
	zw.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes()), nil
}

// Bitmap is a mask placed with its top-left corner at Origin ([x, y]).
//
// A bitmap read from JSON keeps only its encoded data and the size from the PNG
// header; its pixels are decoded when a frame that shows it is written, and
// dropped with that frame's annotation, so a video's annotation never holds
// decoded masks. A bitmap made by a transform holds its pixels (W×H, never more
// than the image it was cropped to) and is encoded when written.
type Bitmap struct {
	Origin [2]int
	W, H   int    // the mask's size
	data   string // the encoded mask as read; "" for one made by a transform
	tight  bool   // data is known to be trimmed to its set pixels
	mask   *Mask  // the pixels, for a bitmap made by a transform
}

func newBitmap(origin [2]int, m *Mask) *Bitmap {
	return &Bitmap{Origin: origin, W: m.W, H: m.H, mask: m}
}

// Mask decodes the bitmap's pixels, trimmed to their tight box (the SDK trims
// on construction), with the origin that box has. An all-clear mask is an error.
func (b *Bitmap) Mask() (origin [2]int, m *Mask, err error) {
	m = b.mask
	if m == nil {
		if m, err = decodeMask(b.data, b.W, b.H); err != nil {
			return origin, nil, err
		}
	}
	x0, y0, x1, y1, ok := m.box(0, 0, m.W, m.H)
	if !ok {
		return origin, nil, fmt.Errorf("the mask is empty")
	}
	return [2]int{b.Origin[0] + x0, b.Origin[1] + y0}, m.sub(x0, y0, x1, y1), nil
}

func (b *Bitmap) Type() string { return TypeBitmap }
func (b *Bitmap) keys(o *object) error {
	origin, data := b.Origin, b.data
	if b.mask != nil || !b.tight {
		org, m, err := b.Mask()
		if err != nil {
			return fmt.Errorf("bitmap: %w", err)
		}
		if b.mask != nil || org != b.Origin || m.W != b.W || m.H != b.H {
			if data, err = EncodeMask(m); err != nil {
				return fmt.Errorf("bitmap: %w", err)
			}
			origin = org
		}
	}
	var bo object
	bo.add("origin", origin)
	bo.add("data", data)
	raw, err := bo.marshal(nil)
	if err != nil {
		return err
	}
	o.add("bitmap", rawJSON(raw))
	return nil
}

// Transform turns and scales the mask nearest-neighbour to max(round(h·fy),1) ×
// max(round(w·fx),1) with the origin scaled (the SDK's resize), then crops it to
// the image and trims it. Only the part inside the image is ever made, so no
// mask outgrows the output image however the sizes compare. A mask that the
// scaling empties is left out (the SDK raises); one outside the image is dropped.
func (b *Bitmap) Transform(t *Transform) ([]Geometry, error) {
	if b.mask == nil && (b.W > t.SrcW || b.H > t.SrcH) {
		return nil, fmt.Errorf("mask %dx%d is larger than the frame %dx%d", b.W, b.H, t.SrcW, t.SrcH)
	}
	if b.mask == nil && b.tight && t.identity() && b.inside(t.W, t.H) {
		return []Geometry{b}, nil // written back as read, not decoded
	}
	origin, m, err := b.Mask()
	if err != nil {
		return nil, err
	}
	if t.identity() && origin == b.Origin && m.W == b.W && m.H == b.H && b.mask == nil && b.inside(t.W, t.H) {
		return []Geometry{&Bitmap{Origin: b.Origin, W: b.W, H: b.H, data: b.data, tight: true}}, nil
	}
	origin, m = t.turnMask(origin, m)
	if t.FX == 1 && t.FY == 1 {
		return cropMask(origin, m, 0, 0, m.W, m.H, t.W, t.H), nil
	}
	nw := max(int(math.RoundToEven(float64(m.W)*t.FX)), 1)
	nh := max(int(math.RoundToEven(float64(m.H)*t.FY)), 1)
	cols, rows := nearest(m.W, nw), nearest(m.H, nh)
	if !m.hits(cols, rows) {
		return nil, &LeftOut{fmt.Errorf("the bitmap vanished when resized")}
	}
	ox, oy := int(math.RoundToEven(float64(origin[0])*t.FX)), int(math.RoundToEven(float64(origin[1])*t.FY))
	// the scaled mask's pixels that land inside the image
	x0, y0 := max(0, -ox), max(0, -oy)
	x1, y1 := min(nw, t.W-ox), min(nh, t.H-oy)
	if x0 >= x1 || y0 >= y1 {
		return nil, nil
	}
	s := &Mask{W: x1 - x0, H: y1 - y0}
	s.Bits = make([]bool, s.W*s.H)
	for y := y0; y < y1; y++ {
		src := m.Bits[rows[y]*m.W:]
		dst := s.Bits[(y-y0)*s.W:]
		for x := x0; x < x1; x++ {
			dst[x-x0] = src[cols[x]]
		}
	}
	return cropMask([2]int{ox + x0, oy + y0}, s, 0, 0, s.W, s.H, t.W, t.H), nil
}

func (b *Bitmap) inside(w, h int) bool {
	return b.Origin[0] >= 0 && b.Origin[1] >= 0 && b.Origin[0]+b.W <= w && b.Origin[1]+b.H <= h
}

// nearest maps each of n output pixels to one of src input pixels, nearest
// neighbour by pixel centres.
func nearest(src, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = min(int((float64(i)+0.5)*float64(src)/float64(n)), src-1)
	}
	return idx
}

// hits tells whether any sampled pixel (cols × rows) is set, without making the
// scaled mask: each distinct source pixel is looked at once.
func (m *Mask) hits(cols, rows []int) bool {
	usedX := make([]bool, m.W)
	for _, c := range cols {
		usedX[c] = true
	}
	last := -1
	for _, r := range rows {
		if r == last {
			continue
		}
		last = r
		for x, u := range usedX {
			if u && m.Bits[r*m.W+x] {
				return true
			}
		}
	}
	return false
}

// cropMask places m's window [x0,x1)×[y0,y1) at origin (its top-left), cuts it to
// a w×h image and trims it; nothing remains when no set pixel is inside.
func cropMask(origin [2]int, m *Mask, x0, y0, x1, y1, w, h int) []Geometry {
	ox, oy := origin[0]-x0, origin[1]-y0 // where m's (0,0) lands
	x0, y0 = max(x0, -ox), max(y0, -oy)
	x1, y1 = min(x1, w-ox), min(y1, h-oy)
	if x0 >= x1 || y0 >= y1 {
		return nil
	}
	bx0, by0, bx1, by1, ok := m.box(x0, y0, x1, y1)
	if !ok {
		return nil
	}
	return []Geometry{newBitmap([2]int{ox + bx0, oy + by0}, m.sub(bx0, by0, bx1, by1))}
}

// box is the bounding box [x0,x1)×[y0,y1) of the set pixels inside a window.
func (m *Mask) box(wx0, wy0, wx1, wy1 int) (x0, y0, x1, y1 int, ok bool) {
	x0, y0, x1, y1 = wx1, wy1, wx0, wy0
	for y := wy0; y < wy1; y++ {
		row := m.Bits[y*m.W : y*m.W+m.W]
		for x := wx0; x < wx1; x++ {
			if row[x] {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x+1), max(y1, y+1)
			}
		}
	}
	return x0, y0, x1, y1, x1 > x0
}

// sub is the window [x0,x1)×[y0,y1) of m (m itself when that is all of it).
func (m *Mask) sub(x0, y0, x1, y1 int) *Mask {
	if x0 == 0 && y0 == 0 && x1 == m.W && y1 == m.H {
		return m
	}
	s := &Mask{W: x1 - x0, H: y1 - y0}
	s.Bits = make([]bool, s.W*s.H)
	for y := y0; y < y1; y++ {
		copy(s.Bits[(y-y0)*s.W:(y-y0+1)*s.W], m.Bits[y*m.W+x0:y*m.W+x1])
	}
	return s
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
