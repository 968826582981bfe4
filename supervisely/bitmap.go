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

func (m *Mask) at(x, y int) bool { return m.Bits[y*m.W+x] }

// maxMaskPixels bounds a decoded mask (a 16k × 16k image) so a hostile PNG header
// cannot make vpipe allocate without limit.
const maxMaskPixels = 1 << 28

// DecodeMask reads a bitmap's data: base64 of zlib of a PNG (the SDK's form), or
// base64 of a bare PNG. With alpha, the mask is alpha != 0; otherwise any channel != 0.
func DecodeMask(data string) (*Mask, error) {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	pngBytes := raw
	if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
		if b, err := io.ReadAll(io.LimitReader(zr, 1<<30)); err == nil {
			pngBytes = b
		}
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, fmt.Errorf("not a PNG mask: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxMaskPixels {
		return nil, fmt.Errorf("mask size %dx%d out of range", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		return nil, fmt.Errorf("not a PNG mask: %w", err)
	}
	b := img.Bounds()
	m := &Mask{W: b.Dx(), H: b.Dy(), Bits: make([]bool, b.Dx()*b.Dy())}
	alpha := hasAlpha(img)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if alpha {
				m.Bits[y*m.W+x] = a != 0
			} else {
				m.Bits[y*m.W+x] = r != 0 || g != 0 || bl != 0
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
type Bitmap struct {
	Origin [2]int
	Mask   *Mask
	data   string // the data as read, written back while the mask is unchanged
}

func (b *Bitmap) Type() string { return TypeBitmap }
func (b *Bitmap) keys(o *object) {
	data := b.data
	if data == "" {
		data, _ = EncodeMask(b.Mask)
	}
	var bo object
	bo.add("origin", b.Origin)
	bo.add("data", data)
	raw, _ := bo.marshal(nil)
	o.add("bitmap", rawJSON(raw))
}

// Scale resizes the mask nearest-neighbour to max(round(h·fy),1) × max(round(w·fx),1)
// and scales the origin, then trims to the tight box. An emptied mask is an error.
func (b *Bitmap) Scale(fx, fy float64) (Geometry, error) {
	nw := max(int(math.RoundToEven(float64(b.Mask.W)*fx)), 1)
	nh := max(int(math.RoundToEven(float64(b.Mask.H)*fy)), 1)
	m := &Mask{W: nw, H: nh, Bits: make([]bool, nw*nh)}
	for y := 0; y < nh; y++ {
		sy := min(int((float64(y)+0.5)*float64(b.Mask.H)/float64(nh)), b.Mask.H-1)
		for x := 0; x < nw; x++ {
			sx := min(int((float64(x)+0.5)*float64(b.Mask.W)/float64(nw)), b.Mask.W-1)
			m.Bits[y*nw+x] = b.Mask.at(sx, sy)
		}
	}
	out := &Bitmap{Origin: [2]int{int(math.RoundToEven(float64(b.Origin[0]) * fx)), int(math.RoundToEven(float64(b.Origin[1]) * fy))}, Mask: m}
	t := out.trim()
	if t == nil {
		return nil, fmt.Errorf("the bitmap vanished when resized")
	}
	return t, nil
}

// Crop cuts the mask to the image and trims it; nothing remains if it is empty.
func (b *Bitmap) Crop(w, h int) []Geometry {
	x0, y0 := b.Origin[0], b.Origin[1]
	if x0 >= 0 && y0 >= 0 && x0+b.Mask.W <= w && y0+b.Mask.H <= h {
		return []Geometry{b}
	}
	cx0, cy0 := max(x0, 0), max(y0, 0)
	cx1, cy1 := min(x0+b.Mask.W, w), min(y0+b.Mask.H, h)
	if cx0 >= cx1 || cy0 >= cy1 {
		return nil
	}
	m := &Mask{W: cx1 - cx0, H: cy1 - cy0}
	m.Bits = make([]bool, m.W*m.H)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			m.Bits[y*m.W+x] = b.Mask.at(cx0-x0+x, cy0-y0+y)
		}
	}
	t := (&Bitmap{Origin: [2]int{cx0, cy0}, Mask: m}).trim()
	if t == nil {
		return nil
	}
	return []Geometry{t}
}

// trim crops the mask to the bounding box of its set pixels; nil if none is set.
func (b *Bitmap) trim() *Bitmap {
	minX, minY, maxX, maxY := b.Mask.W, b.Mask.H, -1, -1
	for y := 0; y < b.Mask.H; y++ {
		for x := 0; x < b.Mask.W; x++ {
			if b.Mask.at(x, y) {
				minX, minY = min(minX, x), min(minY, y)
				maxX, maxY = max(maxX, x), max(maxY, y)
			}
		}
	}
	if maxX < 0 {
		return nil
	}
	if minX == 0 && minY == 0 && maxX == b.Mask.W-1 && maxY == b.Mask.H-1 {
		return b
	}
	m := &Mask{W: maxX - minX + 1, H: maxY - minY + 1}
	m.Bits = make([]bool, m.W*m.H)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			m.Bits[y*m.W+x] = b.Mask.at(minX+x, minY+y)
		}
	}
	return &Bitmap{Origin: [2]int{b.Origin[0] + minX, b.Origin[1] + minY}, Mask: m}
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
