package media

/*
#cgo pkg-config: libavformat libavcodec libavutil libswscale
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// Frame properties go-astiav v0.16 does not expose.
static int vp_frame_colorspace(void *f) { return ((AVFrame *)f)->colorspace; }
static int vp_frame_range(void *f) { return ((AVFrame *)f)->color_range; }
static int64_t vp_frame_best_effort_ts(void *f) { return ((AVFrame *)f)->best_effort_timestamp; }
// 1: the decoder flagged the frame corrupt; 2: it concealed errors in it (or
// found others: decode_error_flags).
static int vp_frame_damage(void *f) {
	const AVFrame *fr = f;
	return ((fr->flags & AV_FRAME_FLAG_CORRUPT) ? 1 : 0) | (fr->decode_error_flags ? 2 : 0);
}

// vp_sws_new builds a converter to packed RGB24 and sets the source colour matrix and
// range the way ffmpeg's scale filter does (matrix from the frame's colorspace, range
// from the frame when it is tagged), so vpipe and the ffmpeg CLI convert identically.
static struct SwsContext *vp_sws_new(int sw, int sh, int sfmt, int dw, int dh, int flags,
                                     int colorspace, int range) {
	struct SwsContext *c = sws_getContext(sw, sh, sfmt, dw, dh, AV_PIX_FMT_RGB24, flags, NULL, NULL, NULL);
	if (!c) return NULL;
	int *inv, *tab, srcFull, dstFull, b, ct, s;
	if (sws_getColorspaceDetails(c, &inv, &srcFull, &tab, &dstFull, &b, &ct, &s) >= 0) {
		if (range == AVCOL_RANGE_JPEG) srcFull = 1;
		else if (range == AVCOL_RANGE_MPEG) srcFull = 0;
		sws_setColorspaceDetails(c, sws_getCoefficients(colorspace), srcFull, tab, dstFull, b, ct, s);
	}
	return c;
}

// vp_sws_scale converts a tightly packed (align 1) source image to RGB24 at dst.
// Both buffers are Go memory, used only for the duration of the call.
static int vp_sws_scale(struct SwsContext *c, const uint8_t *src, int sw, int sh, int sfmt,
                        uint8_t *dst, int dstStride) {
	uint8_t *data[4];
	int ls[4];
	int r = av_image_fill_arrays(data, ls, src, sfmt, sw, sh, 1);
	if (r < 0) return r;
	uint8_t *dd[4] = {dst, NULL, NULL, NULL};
	int dls[4] = {dstStride, 0, 0, 0};
	return sws_scale(c, (const uint8_t *const *)data, ls, 0, sh, dd, dls);
}

// vp_rotate_planes turns a packed (align 1) planar image clockwise by 90, 180 or
// 270 degrees into dst, plane by plane, as ffmpeg's transpose/hflip+vflip filters
// do before conversion. Returns <0 for formats that are not planar.
static int vp_rotate_planes(const uint8_t *src, uint8_t *dst, int w, int h, int fmt, int deg) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	if (!d || (d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL))) return -1;
	if (!(d->flags & AV_PIX_FMT_FLAG_PLANAR) && d->nb_components > 1 && d->comp[0].step != d->comp[d->nb_components - 1].step) return -1;
	int dw = (deg == 180) ? w : h, dh = (deg == 180) ? h : w;
	uint8_t *sp[4], *dp[4];
	int sl[4], dl[4];
	if (av_image_fill_arrays(sp, sl, src, fmt, w, h, 1) < 0) return -1;
	if (av_image_fill_arrays(dp, dl, dst, fmt, dw, dh, 1) < 0) return -1;
	int planes = av_pix_fmt_count_planes(fmt);
	for (int p = 0; p < planes; p++) {
		int step = 0;
		for (int c = 0; c < d->nb_components; c++)
			if (d->comp[c].plane == p) { step = d->comp[c].step; break; }
		if (step <= 0) return -1;
		int chroma = (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
		int pw = chroma ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
		int ph = chroma ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
		if (deg != 180 && d->log2_chroma_w != d->log2_chroma_h && chroma) return -1; // 4:2:2 cannot be transposed
		if (pw * step > sl[p]) return -1;
		for (int y = 0; y < ph; y++) {
			const uint8_t *row = sp[p] + (size_t)y * sl[p];
			for (int x = 0; x < pw; x++) {
				int dx, dy;
				if (deg == 90) { dx = ph - 1 - y; dy = x; }
				else if (deg == 180) { dx = pw - 1 - x; dy = ph - 1 - y; }
				else { dx = y; dy = pw - 1 - x; }
				memcpy(dp[p] + (size_t)dy * dl[p] + (size_t)dx * step, row + (size_t)x * step, step);
			}
		}
	}
	return 0;
}

static int vp_video_delay(void *par) { return ((AVCodecParameters *)par)->video_delay; }
static int vp_has_b_frames(void *cc) { return ((AVCodecContext *)cc)->has_b_frames; }

// vp_index_keys writes the timestamps of the container index's keyframe entries
// (AVI idx1, MP4 stss, ...) to out, at most max of them; returns how many there are.
static int vp_index_keys(void *st, int64_t *out, int max) {
	int n = avformat_index_get_entries_count(st), k = 0;
	for (int i = 0; i < n; i++) {
		const AVIndexEntry *e = avformat_index_get_entry(st, i);
		if (e && (e->flags & AVINDEX_KEYFRAME)) {
			if (k < max) out[k] = e->timestamp;
			k++;
		}
	}
	return k;
}

// vp_packet_data gives a packet's payload without copying it.
static const uint8_t *vp_packet_data(void *p, int *size) {
	*size = ((AVPacket *)p)->size;
	return ((AVPacket *)p)->data;
}

static const char *vp_pix_fmt_name(int f) { return av_get_pix_fmt_name(f); }

// vp_skip_nonkey makes a decoder drop every frame but keyframes, as the CLI's
// -skip_frame nokey does.
static void vp_skip_nonkey(void *cc) { ((AVCodecContext *)cc)->skip_frame = AVDISCARD_NONKEY; }

// vp_skip_nonref lets a decoder drop the frames of the packets sent next that
// no other frame references (on = 1), as the CLI's -skip_frame noref does, or
// has it decode everything again (on = 0). Frame threads copy the setting
// with each packet they take.
static void vp_skip_nonref(void *cc, int on) { ((AVCodecContext *)cc)->skip_frame = on ? AVDISCARD_NONREF : AVDISCARD_DEFAULT; }

// vp_luma_layout says where the luma (or grey) samples of a packed (align 1)
// w-wide image of format fmt lie: plane 0, row stride, sample step and byte
// offset, bit depth and shift, big-endian. For packed 8-bit RGB it gives the
// R, G and B offsets instead (rgb = 1). Returns <0 for other layouts.
static int vp_luma_layout(int fmt, int w, int *stride, int *step, int *off, int *depth, int *shift, int *be,
                          int *rgb, int *offg, int *offb) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	if (!d || (d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_FLOAT))) return -1;
	int ls[4];
	if (av_image_fill_linesizes(ls, fmt, w) < 0) return -1;
	*stride = ls[0];
	*rgb = (d->flags & AV_PIX_FMT_FLAG_RGB) != 0;
	*be = (d->flags & AV_PIX_FMT_FLAG_BE) != 0;
	if (*rgb) {
		if (d->nb_components < 3) return -1;
		for (int c = 0; c < 3; c++)
			if (d->comp[c].plane != 0 || d->comp[c].depth != 8 || d->comp[c].shift != 0 || d->comp[c].step != d->comp[0].step) return -1;
		*step = d->comp[0].step; *off = d->comp[0].offset; *offg = d->comp[1].offset; *offb = d->comp[2].offset;
		*depth = 8; *shift = 0;
		return 0;
	}
	if (d->comp[0].plane != 0 || d->comp[0].depth < 1 || d->comp[0].depth > 16) return -1;
	*step = d->comp[0].step; *off = d->comp[0].offset; *depth = d->comp[0].depth; *shift = d->comp[0].shift;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// frameColor reports the colour matrix and range FFmpeg tagged a decoded frame with.
func frameColor(f *astiav.Frame) (colorspace, colorRange int) {
	p := f.UnsafePointer()
	return int(C.vp_frame_colorspace(p)), int(C.vp_frame_range(p))
}

// frameDamage tells why the decoder does not vouch for a frame: "" when it
// decoded cleanly; else it was flagged corrupt (AV_FRAME_FLAG_CORRUPT: a
// reference was missing or a slice broken) or had errors concealed
// (decode_error_flags). go-astiav v0.16 exposes neither field.
func frameDamage(f *astiav.Frame) string {
	switch C.vp_frame_damage(f.UnsafePointer()) {
	case 0:
		return ""
	case 2:
		return "the decoder reported errors in it (decode_error_flags)"
	}
	return "the decoder flagged it corrupt"
}

// frameTimestamp is the frame's PTS as the decoder reordered it, falling back to
// FFmpeg's best-effort guess when the packet carried none.
func frameTimestamp(f *astiav.Frame) int64 {
	if pts := f.Pts(); pts != astiav.NoPtsValue {
		return pts
	}
	return int64(C.vp_frame_best_effort_ts(f.UnsafePointer()))
}

// videoDelay is the stream's frame reordering depth, as find_stream_info measured
// it (0 = the decoder outputs frames in decode order). go-astiav v0.16 has no
// accessor; its CodecParameters is a struct holding only the C pointer, which
// the pinned version guarantees.
func videoDelay(cp *astiav.CodecParameters) int {
	c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(cp)).c
	if c == nil {
		return 0
	}
	return int(C.vp_video_delay(c))
}

// reorderDelay is how many frames the decoder holds back to reorder them
// (has_b_frames; the H.264 decoder raises it when a stream needs more). Read
// through go-astiav's CodecContext, whose first field is the C pointer.
func reorderDelay(cc *astiav.CodecContext) int {
	c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(cc)).c
	if c == nil {
		return 0
	}
	return int(C.vp_has_b_frames(c))
}

// indexKeys are the timestamps the container's index marks as keyframes. They
// hold where the bitstream no longer can: the parser flags a packet key by its
// bytes, so a damaged keyframe loses its flag, not its index entry. Go-astiav
// v0.16 has no accessor; its Stream holds only the C pointer (as CodecParameters).
func indexKeys(st *astiav.Stream) map[int64]bool {
	c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(st)).c
	if c == nil {
		return nil
	}
	n := int(C.vp_index_keys(c, nil, 0))
	if n == 0 {
		return nil
	}
	buf := make([]C.int64_t, n)
	n = min(n, int(C.vp_index_keys(c, &buf[0], C.int(n))))
	keys := make(map[int64]bool, n)
	for _, t := range buf[:n] {
		keys[int64(t)] = true
	}
	return keys
}

// packetBytes is the packet's payload, read in place: valid until the packet
// is unreferenced. Go-astiav's Data copies it; its Packet holds only the C pointer.
func packetBytes(p *astiav.Packet) []byte {
	c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(p)).c
	if c == nil {
		return nil
	}
	var n C.int
	d := C.vp_packet_data(c, &n)
	if d == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(d)), int(n))
}

// rotatePlanes turns a packed planar picture clockwise; ok is false for formats
// it cannot transpose (packed YUV, 4:2:2), which the caller then rotates as RGB.
func rotatePlanes(src, dst []byte, w, h, pixFmt, deg int) bool {
	return C.vp_rotate_planes((*C.uint8_t)(unsafe.Pointer(&src[0])), (*C.uint8_t)(unsafe.Pointer(&dst[0])),
		C.int(w), C.int(h), C.int(pixFmt), C.int(deg)) == 0
}

// PixFmtName is FFmpeg's name of a pixel format (e.g. "yuv420p10le").
func PixFmtName(f int) string {
	if s := C.vp_pix_fmt_name(C.int(f)); s != nil {
		return C.GoString(s)
	}
	return fmt.Sprintf("pix_fmt(%d)", f)
}

type swsKey struct {
	sw, sh, sfmt, dw, dh, flags, colorspace, colorRange int
}

// sws is one swscale context converting to RGB24.
type sws struct {
	key swsKey
	c   *C.struct_SwsContext
}

func newSws(k swsKey) (*sws, error) {
	c := C.vp_sws_new(C.int(k.sw), C.int(k.sh), C.int(k.sfmt), C.int(k.dw), C.int(k.dh),
		C.int(k.flags), C.int(k.colorspace), C.int(k.colorRange))
	if c == nil {
		return nil, fmt.Errorf("swscale cannot convert %dx%d %s to %dx%d rgb24",
			k.sw, k.sh, PixFmtName(k.sfmt), k.dw, k.dh)
	}
	return &sws{key: k, c: c}, nil
}

func (s *sws) scale(src []byte, dst []byte, dstStride int) error {
	r := C.vp_sws_scale(s.c, (*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(s.key.sw), C.int(s.key.sh),
		C.int(s.key.sfmt), (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.int(dstStride))
	if r < 0 {
		return fmt.Errorf("swscale: %w", astiav.Error(r))
	}
	return nil
}

func (s *sws) free() {
	if s != nil && s.c != nil {
		C.sws_freeContext(s.c)
		s.c = nil
	}
}

func libavformatVersion() uint { return uint(C.avformat_version()) }
func libavcodecVersion() uint  { return uint(C.avcodec_version()) }
func libswscaleVersion() uint  { return uint(C.swscale_version()) }

// skipNonKey sets the decoder to drop non-keyframes. Through go-astiav's
// CodecContext, whose first field is the C pointer (as reorderDelay).
func skipNonKey(cc *astiav.CodecContext) {
	if c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(cc)).c; c != nil {
		C.vp_skip_nonkey(c)
	}
}

// skipNonRef sets whether the decoder may drop non-reference frames of the
// packets sent next (see sparse.go).
func skipNonRef(cc *astiav.CodecContext, on bool) {
	if c := (*struct{ c unsafe.Pointer })(unsafe.Pointer(cc)).c; c != nil {
		v := C.int(0)
		if on {
			v = 1
		}
		C.vp_skip_nonref(c, v)
	}
}

// lumaLayout reads the pixel format descriptor (see vp_luma_layout).
func lumaLayout(pixFmt, w int) (l Luma, ok bool) {
	var stride, step, off, depth, shift, be, rgb, offg, offb C.int
	if C.vp_luma_layout(C.int(pixFmt), C.int(w), &stride, &step, &off, &depth, &shift, &be, &rgb, &offg, &offb) < 0 {
		return Luma{}, false
	}
	l = Luma{Stride: int(stride), Step: int(step), Offset: int(off), Wide: depth > 8, BigEndian: be != 0, RGB: rgb != 0,
		OffsetG: int(offg), OffsetB: int(offb)}
	if l.Wide {
		l.Shift = uint(shift) + uint(depth) - 8
	}
	return l, true
}
