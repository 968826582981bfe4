package media

import "github.com/vpipe/vpipe/media/fastpng"

// NewZlibPNGEncoder is the PNG encoder on the klauspost zlib path at any
// level, 1 included (level 1 is media/fastpng otherwise): for comparisons.
func NewZlibPNGEncoder(level int) *PNGEncoder { return &PNGEncoder{level: level} }

// NewPortablePNGEncoder is level 1 on fastpng's portable kernels.
func NewPortablePNGEncoder() *PNGEncoder {
	return &PNGEncoder{level: 1, fast: &fastpng.Encoder{Portable: true}}
}
