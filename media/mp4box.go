package media

import (
	"encoding/binary"
	"io"
)

// One reader of MP4/MOV box headers serves the three jobs that look at the
// boxes before FFmpeg does: the hostile sample-table guard (mp4guard.go), the
// declared-size-past-EOF check (truncation.go) and the test whether a Scan can
// map a video from its index (indexedMP4).

// maxBoxes bounds the boxes one walk reads.
const maxBoxes = 100000

// mp4Box is one box header as the file declares it.
type mp4Box struct {
	typ  string // "" when the header is cut before its type
	pos  int64  // where the box starts
	hdr  int64  // the header's length: 8, or 16 with a 64-bit size
	size int64  // the declared size; a size of 0 ("to the end") is to-pos
	// cut: the header could not be read whole (the bytes ran out or a read
	// failed); size is then the header's length, so end is where it would end.
	cut bool
}

// content is where the box's content starts.
func (b mp4Box) content() int64 { return b.pos + b.hdr }

// end is where the box ends by its declared size.
func (b mp4Box) end() int64 { return b.pos + b.size }

// eachBox calls f with each box header from from on, in order, as declared,
// while the next box starts before to; f tells whether to go on. It stops
// after a header that is cut or declares fewer than 8 bytes (there is no
// going past either) and after maxBoxes boxes.
func eachBox(r io.ReaderAt, from, to int64, f func(b mp4Box) bool) {
	var h [16]byte
	for pos, n := from, 0; pos < to && n < maxBoxes; n++ {
		b := mp4Box{pos: pos, hdr: 8, size: 8}
		if k, _ := r.ReadAt(h[:8], pos); k < 8 {
			b.cut = true
			f(b)
			return
		}
		b.typ, b.size = string(h[4:8]), int64(binary.BigEndian.Uint32(h[:4]))
		switch b.size {
		case 0:
			b.size = to - pos
		case 1:
			b.hdr, b.size = 16, 16
			if k, _ := r.ReadAt(h[8:16], pos+8); k < 8 {
				b.cut = true
				f(b)
				return
			}
			b.size = int64(binary.BigEndian.Uint64(h[8:16]))
		}
		if !f(b) || b.size < 8 {
			return
		}
		pos += b.size
	}
}

// walkBoxes calls f with each box of [from, to): its type and where its
// content starts and ends. It stops at the first box that does not parse or
// runs past to, and at an error from f (returned).
func walkBoxes(r io.ReaderAt, from, to int64, f func(typ string, off, end int64) error) error {
	var err error
	eachBox(r, from, to, func(b mp4Box) bool {
		if b.cut || b.size < b.hdr || b.end() > to {
			return false
		}
		err = f(b.typ, b.content(), b.end())
		return err == nil
	})
	return err
}

// inputReaderAt reads an Input at offsets (the caller seeks it back before use).
type inputReaderAt struct{ in Input }

func (r inputReaderAt) ReadAt(b []byte, off int64) (int, error) {
	if _, err := r.in.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(r.in, b)
}
