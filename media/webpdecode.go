package media

/*
#cgo pkg-config: libwebp
#include <stdlib.h>
#include <webp/decode.h>
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"
)

// DecodeWebP decodes a WebP file (lossy or lossless) to RGBA with libwebp,
// the library that wrote it: Go's standard library has no WebP decoder, and
// vpipe verify compares the pixels of the WebP images vpipe wrote.
func DecodeWebP(b []byte) (*image.RGBA, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("webp: empty file")
	}
	var w, h C.int
	p := C.WebPDecodeRGBA((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)), &w, &h)
	if p == nil {
		return nil, fmt.Errorf("webp: libwebp cannot decode these %d bytes", len(b))
	}
	defer C.WebPFree(unsafe.Pointer(p))
	im := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	copy(im.Pix, unsafe.Slice((*byte)(unsafe.Pointer(p)), 4*int(w)*int(h)))
	return im, nil
}
