// Package fastpng is vpipe's own PNG encoder, built for speed at about zlib
// level 1's size: each row is filtered with the cheapest of Sub, Up and Paeth
// under a Huffman code fitted to a sample of the image's rows, and deflated
// as one dynamic Huffman block of literals, where long runs of zero residuals
// become matches at distance 1 (no match search). The code table has a shape
// SIMD can look up with 16-entry shuffles: residuals -16..15 get their own
// codes (up to 8 bits), the rare others one shared length, their codes built
// from the byte's two nibbles. The filters, the row costs, the coder, the
// zero-run search and Adler-32 run as AVX2 kernels where the CPU has AVX2, as
// portable C elsewhere; both make the same bytes (every decision is taken on
// the same integers). Noise that Huffman coding would only grow is written
// as stored blocks. The CRC of the IDAT chunk is Go's (PCLMULQDQ on amd64).
// The ideas come from fpnge (Luca Versari) and fpng (Rich Geldreich); the
// code is vpipe's own.
package fastpng

/*
#cgo CFLAGS: -O3
#include "fastpng.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"unsafe"
)

// ErrShort is returned when the output does not fit in dst: encode again
// into MaxLen bytes.
var ErrShort = errors.New("fastpng: output buffer too small")

// Encoder encodes images; it keeps scratch rows between calls. One per goroutine.
type Encoder struct {
	// Portable makes it use the portable kernels where SIMD ones exist
	// (they write the same bytes: for tests and benchmarks).
	Portable bool
	scratch  []byte
}

// Kernels names the kernels an Encoder uses unless Portable: "avx2" or "portable".
func Kernels() string { return C.GoString(C.fp_simd_name()) }

var colorType = [5]byte{1: 0, 2: 4, 3: 2, 4: 6} // gray, gray+alpha, RGB, RGBA

const (
	sigLen  = 8
	ihdrLen = 8 + 13 + 4
	trailer = 4 + 12 // the IDAT CRC, IEND
)

// MaxLen is the most bytes the PNG of a w×h image with that many channels
// (bytes a pixel) can take.
func MaxLen(w, h, channels int) int {
	return sigLen + ihdrLen + 8 + int(C.fp_max_zlib(C.int64_t(w), C.int64_t(h), C.int(channels))) + trailer
}

var signature = [8]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// Encode writes the PNG file of an 8-bit image of w×h pixels of channels
// bytes each (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; rows packed, 3*w bytes
// for RGB) into dst's whole capacity and returns it. ErrShort when it does
// not fit.
func (e *Encoder) Encode(dst, pix []byte, w, h, channels int) ([]byte, error) {
	if w <= 0 || h <= 0 || w > 1<<31-1 || h > 1<<31-1 || channels < 1 || channels > 4 || len(pix)/h/channels < w {
		return nil, fmt.Errorf("png: %dx%d image of %d channels with %d bytes of pixels", w, h, channels, len(pix))
	}
	const head = sigLen + ihdrLen + 8
	dst = dst[:cap(dst)]
	if len(dst) < head+trailer+16 {
		return nil, ErrShort
	}
	copy(dst, signature[:])
	binary.BigEndian.PutUint32(dst[8:], 13)
	copy(dst[12:], "IHDR")
	binary.BigEndian.PutUint32(dst[16:], uint32(w))
	binary.BigEndian.PutUint32(dst[20:], uint32(h))
	dst[24], dst[25], dst[26], dst[27], dst[28] = 8, colorType[channels], 0, 0, 0
	binary.BigEndian.PutUint32(dst[29:], crc32.ChecksumIEEE(dst[12:29]))
	copy(dst[37:], "IDAT")

	if need := int(C.fp_scratch_size(C.int64_t(w), C.int(channels))); len(e.scratch) < need {
		e.scratch = make([]byte, need)
	}
	simd := C.int(1)
	if e.Portable {
		simd = 0
	}
	n := int64(C.fp_encode((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.int64_t(w), C.int64_t(h), C.int(channels),
		C.int64_t(w*channels), (*C.uint8_t)(unsafe.Pointer(&dst[head])), C.int64_t(len(dst)-head-trailer),
		(*C.uint8_t)(unsafe.Pointer(&e.scratch[0])), simd))
	switch {
	case n == C.FP_SHORT:
		return nil, ErrShort
	case n < 0:
		return nil, fmt.Errorf("png: encoding a %dx%d image failed (%d)", w, h, n)
	case n > 1<<31-1:
		return nil, errors.New("png: image data over 2 GiB")
	}
	end := head + int(n)
	binary.BigEndian.PutUint32(dst[33:], uint32(n))
	binary.BigEndian.PutUint32(dst[end:], crc32.ChecksumIEEE(dst[37:end]))
	copy(dst[end+4:], []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82})
	return dst[:end+trailer], nil
}
