package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// checkLength finds a local file cut short where its container says how long
// it is: a Matroska/WebM segment, an AVI RIFF chunk or an MP4/MOV top-level box
// that declares more bytes than the file holds, or an MPEG-TS file that ends
// inside a transport packet. FFmpeg's demuxers read such files to their end
// without an error and hand out what is there (or, when an MP4's moov is cut,
// fail to open them). The container is told by its first bytes, so this works
// on a file FFmpeg could not open. Scan finds the other signs (a packet flagged
// corrupt, fewer packets than the container lists).
func (v *Video) checkLength() error {
	st, err := os.Stat(v.src)
	if err != nil || !st.Mode().IsRegular() {
		return nil // a URL: the length is the server's to tell
	}
	f, err := os.Open(v.src)
	if err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	head = head[:n]
	size := st.Size()
	short := func(what string, end int64) error {
		return fmt.Errorf("%s: truncated: %s ends at byte %d, the file holds %d", v.name, what, end, size)
	}
	switch {
	case len(head) >= 4 && string(head[:4]) == "\x1a\x45\xdf\xa3":
		if end, ok := matroskaSegmentEnd(head); ok && end > size {
			return short("the Matroska segment", end)
		}
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "AVI ":
		// An OpenDML file's later RIFF chunks are not checked.
		if end := 8 + int64(binary.LittleEndian.Uint32(head[4:8])); end > size {
			return short("the AVI's RIFF chunk", end)
		}
	case len(head) >= 8 && mp4Start[string(head[4:8])]:
		if box, end := mp4BoxesEnd(f, size); end > size {
			return short("the MP4 box "+box, end)
		}
	default:
		if ps, start, ok := tsPacketing(head); ok && (size-start)%ps != 0 {
			return fmt.Errorf("%s: truncated: the file ends %d bytes into a %d-byte MPEG-TS packet", v.name, (size-start)%ps, ps)
		}
	}
	return nil
}

// mp4Start are the box types an MP4 or QuickTime file begins with.
var mp4Start = map[string]bool{"ftyp": true, "moov": true, "mdat": true, "free": true, "wide": true, "skip": true}

// mp4BoxesEnd walks the top-level boxes and returns the first one that ends
// past the file (or the end of the last), by their declared sizes.
func mp4BoxesEnd(r io.ReaderAt, size int64) (box string, end int64) {
	eachBox(r, 0, size, func(b mp4Box) bool {
		box, end = b.typ, b.end()
		switch {
		case b.cut && b.typ == "":
			box = "header"
		case b.cut:
		case b.size < 8:
			end = size // not a box size: leave it to the demuxer
		}
		return end <= size
	})
	return box, end
}

// matroskaSegmentEnd reads the EBML header and the Segment element's header at
// the start of a Matroska file and returns the byte where the segment ends;
// ok is false when the segment's size is unknown (a live recording) or the
// start does not parse.
func matroskaSegmentEnd(b []byte) (end int64, ok bool) {
	pos := 0
	for pos < len(b) {
		id, n := ebmlVint(b[pos:], true)
		if n == 0 {
			return 0, false
		}
		size, m := ebmlVint(b[pos+n:], false)
		if m == 0 {
			return 0, false
		}
		data := pos + n + m
		switch id {
		case 0x18538067: // Segment
			if size < 0 {
				return 0, false
			}
			return int64(data) + size, true
		case 0x1A45DFA3, 0xEC: // the EBML header, Void
			if size < 0 {
				return 0, false
			}
			pos = data + int(size)
		default:
			return 0, false
		}
	}
	return 0, false
}

// ebmlVint decodes an EBML variable-length integer: an element ID keeps its
// length marker, a size drops it and is -1 when all its bits are ones (unknown).
// n is 0 when b does not hold one.
func ebmlVint(b []byte, isID bool) (v int64, n int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	n = 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > 8 || len(b) < n || (isID && n > 4) {
		return 0, 0
	}
	v = int64(b[0])
	if !isID {
		v &= int64(0xFF >> n)
	}
	unknown := v == int64(0xFF>>n)
	for _, c := range b[1:n] {
		v = v<<8 | int64(c)
		unknown = unknown && c == 0xFF
	}
	if !isID && unknown {
		return -1, n
	}
	return v, n
}

// tsPacketing finds the transport packet size (188, 192 with a timecode prefix,
// or 204 with Reed-Solomon bytes) and the offset of the first packet, by the
// sync byte 0x47 recurring at that distance.
func tsPacketing(b []byte) (size, start int64, ok bool) {
	for _, ps := range []int{188, 192, 204} {
		for o := 0; o < ps; o++ {
			sync := o+4*ps <= len(b)
			for k := 0; sync && k < 4; k++ {
				sync = b[o+k*ps] == 0x47
			}
			if !sync {
				continue
			}
			if ps == 192 { // the 4-byte timecode comes before the sync byte
				o = (o + ps - 4) % ps
			}
			return int64(ps), int64(o), true
		}
	}
	return 0, 0, false
}
