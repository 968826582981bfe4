package media

/*
#cgo pkg-config: libwebp
#include <stdlib.h>
#include <webp/encode.h>

// vp_webp encodes a packed RGB24 image held in Go memory (libwebp copies it into
// its own picture: no Go pointer is kept). The file is left in *out, malloc'd by
// libwebp, for the caller to copy and free with vp_webp_free.
static int vp_webp(const uint8_t *rgb, int w, int h, float q, int lossless, int method, uint8_t **out, size_t *size) {
	WebPConfig c;
	WebPPicture p;
	WebPMemoryWriter wr;
	if (!WebPConfigInit(&c) || !WebPPictureInit(&p)) return -1;
	c.lossless = lossless;
	c.quality = q;
	c.method = method;
	c.exact = 1;
	if (!WebPValidateConfig(&c)) return -1;
	p.width = w;
	p.height = h;
	p.use_argb = lossless;
	if (!WebPPictureImportRGB(&p, rgb, 3 * w)) { WebPPictureFree(&p); return -2; }
	WebPMemoryWriterInit(&wr);
	p.writer = WebPMemoryWrite;
	p.custom_ptr = &wr;
	int ok = WebPEncode(&c, &p);
	int err = p.error_code;
	WebPPictureFree(&p);
	if (!ok) { WebPMemoryWriterClear(&wr); return err ? err : -3; }
	*out = wr.mem;
	*size = wr.size;
	return 0;
}
static void vp_webp_free(uint8_t *p) { WebPFree(p); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// webpEncoder writes WebP with libwebp: lossy at the given quality, or lossless
// (exact RGB). Speed settings (libwebp's method 0–6) are fixed, chosen by
// measurement on 1080p frames: see webpMethod.
type webpEncoder struct {
	quality  int
	lossless bool
}

// webpMethod is libwebp's effort: 0 is fastest. Lossless uses method 0 with
// quality 0 (the cheapest lossless search); lossy method 2.
func (e *webpEncoder) method() (method int, q float32) {
	if e.lossless {
		return 0, 0
	}
	return 2, float32(e.quality)
}

func (e *webpEncoder) Encode(im *RGB) ([]byte, error) {
	if im.Width <= 0 || im.Height <= 0 || im.Width > 16383 || im.Height > 16383 || len(im.Pix) < 3*im.Width*im.Height {
		return nil, fmt.Errorf("webp: cannot encode a %dx%d image (at most 16383 a side)", im.Width, im.Height)
	}
	m, q := e.method()
	lossless := 0
	if e.lossless {
		lossless = 1
	}
	var p *C.uint8_t
	var size C.size_t
	if r := C.vp_webp((*C.uint8_t)(unsafe.Pointer(&im.Pix[0])), C.int(im.Width), C.int(im.Height), C.float(q),
		C.int(lossless), C.int(m), &p, &size); r != 0 {
		return nil, fmt.Errorf("webp: encoding a %dx%d image failed (libwebp error %d)", im.Width, im.Height, int(r))
	}
	defer C.vp_webp_free(p)
	out := getBufClass(int(size))
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(size)))
	return out, nil
}

func (e *webpEncoder) Close() {}
