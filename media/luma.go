package media

// Luma is where a Picture's brightness samples lie in its packed buffer: the Y
// (or grey) samples of a YUV or grey format, or the R, G and B bytes of a
// packed 8-bit RGB format. It lets pure-Go code (the scene and dedup filters)
// read a picture without converting it.
type Luma struct {
	Pix           []byte
	Width, Height int
	Stride        int  // bytes between rows
	Step          int  // bytes between samples of a row
	Offset        int  // byte of the first sample (RGB: of R)
	Wide          bool // 16-bit samples
	BigEndian     bool
	Shift         uint // right shift that brings a wide sample to 8 bits
	RGB           bool
	OffsetG       int
	OffsetB       int
}

// Luma returns the picture's brightness layout; ok is false for formats it
// cannot read in place (palettes, planar RGB, bitstreams, floats).
func (p *Picture) Luma() (Luma, bool) {
	l, ok := lumaLayout(p.PixFmt, p.Width)
	if !ok || l.Stride*p.Height > len(p.Buf) {
		return Luma{}, false
	}
	l.Pix, l.Width, l.Height = p.Buf, p.Width, p.Height
	return l, true
}

// At is the 8-bit brightness of the sample at (x, y).
func (l *Luma) At(x, y int) uint8 {
	o := y*l.Stride + x*l.Step
	switch {
	case l.RGB:
		r, g, b := uint32(l.Pix[o+l.Offset]), uint32(l.Pix[o+l.OffsetG]), uint32(l.Pix[o+l.OffsetB])
		return uint8((77*r + 150*g + 29*b) >> 8) // BT.601 weights, in 1/256
	case l.Wide:
		o += l.Offset
		v := uint32(l.Pix[o]) | uint32(l.Pix[o+1])<<8
		if l.BigEndian {
			v = uint32(l.Pix[o])<<8 | uint32(l.Pix[o+1])
		}
		return uint8(v >> l.Shift)
	}
	return l.Pix[o+l.Offset]
}
