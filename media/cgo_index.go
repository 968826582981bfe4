package media

/*
#include <libavformat/avformat.h>

// flags is a bit-field, which cgo cannot read.
static int vp_index_entry(AVStream *st, int k, int64_t *pos, int *key) {
	const AVIndexEntry *e = avformat_index_get_entry(st, k);
	if (!e) return 0;
	*pos = e->pos;
	*key = (e->flags & AVINDEX_KEYFRAME) != 0;
	return 1;
}
*/
import "C"
import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// indexEntry is the demuxer's k-th index entry of the stream (for MOV: the
// k-th sample, in the order packets come out): its file position and whether it
// is a keyframe. go-astiav v0.16 does not expose avformat_index_get_entry.
func indexEntry(st *astiav.Stream, k int) (pos int64, key, ok bool) {
	c := (*C.AVStream)((*struct{ c unsafe.Pointer })(unsafe.Pointer(st)).c)
	var p C.int64_t
	var kf C.int
	if C.vp_index_entry(c, C.int(k), &p, &kf) == 0 {
		return 0, false, false
	}
	return int64(p), kf != 0, true
}
