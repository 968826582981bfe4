package media

import (
	"errors"
	"io"

	"github.com/asticode/go-astiav"
)

// avseekSize is FFmpeg's AVSEEK_SIZE whence: report the size, do not seek.
const (
	avseekSize  = 0x10000
	avseekForce = 0x20000
)

// customIO is the AVIOContext over an Input. While payload is off, reads are
// served as zeros without touching the Input: used to map an MP4/MOV, whose
// packet timestamps, flags and positions all come from the sample table in the
// header, so the payload bytes need not be fetched at all.
type customIO struct {
	in      Input
	ioc     *astiav.IOContext
	pos     int64
	noData  bool
	lastErr error
	// limit, when > 0, is how many bytes may be read from since on (limitRaw).
	limit, since int64
	format       string // the demuxer's, for errGathered
}

func (v *Video) openCustomIO(fc *astiav.FormatContext) error {
	in := v.opts.Input
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	c := &customIO{in: in}
	ioc, err := astiav.AllocIOContext(32<<10, false, c.read, c.seek, nil)
	if err != nil {
		return err
	}
	c.ioc = ioc
	v.cio = c
	fc.SetPb(ioc)
	fc.SetFlags(fc.Flags().Add(astiav.FormatContextFlagCustomIo))
	return nil
}

func (c *customIO) read(b []byte) (int, error) {
	size := c.in.Size()
	if c.pos >= size {
		return 0, astiav.ErrEof
	}
	if c.limit > 0 {
		if c.since >= c.limit {
			c.lastErr = errGathered{format: c.format}
			return 0, astiav.ErrEio
		}
		b = b[:min(int64(len(b)), c.limit-c.since)]
		c.since += int64(len(b)) // (what a short read leaves unread counts too: a bound)
	}
	if c.noData {
		n := int(min(int64(len(b)), size-c.pos))
		clear(b[:n])
		c.pos += int64(n)
		return n, nil
	}
	n, err := c.in.Read(b)
	c.pos += int64(n)
	if n > 0 {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return 0, astiav.ErrEof
	}
	c.lastErr = err
	return 0, astiav.ErrEio
}

func (c *customIO) seek(off int64, whence int) (int64, error) {
	if whence&avseekSize != 0 {
		return c.in.Size(), nil
	}
	whence &^= avseekForce
	var to int64
	switch whence {
	case io.SeekStart:
		to = off
	case io.SeekCurrent:
		to = c.pos + off
	case io.SeekEnd:
		to = c.in.Size() + off
	default:
		return 0, astiav.ErrEio
	}
	if to < 0 {
		return 0, astiav.ErrEio
	}
	if !c.noData {
		if _, err := c.in.Seek(to, io.SeekStart); err != nil {
			c.lastErr = err
			return 0, astiav.ErrEio
		}
	}
	c.pos = to
	return to, nil
}

func (c *customIO) free() {
	if c.ioc != nil {
		c.ioc.Free()
		c.ioc = nil
	}
}

// wrap adds the Input's own error (a stalled stream past its reconnects, an
// HTTP status) to FFmpeg's generic I/O error.
func (v *Video) wrapIOErr(err error) error {
	if err == nil || v.cio == nil || v.cio.lastErr == nil {
		return err
	}
	return errors.Join(err, v.cio.lastErr)
}

// indexedMP4 tells whether a Scan can map the video from the container's index
// alone: an MP4/MOV (not fragmented: no top-level moof, whose samples the
// header does not list) with a codec FFmpeg does not parse while demuxing. The
// test suite holds such scans against full ones on the corpus.
func (v *Video) indexedMP4() bool {
	in := v.opts.Input
	if in == nil || v.Info.Format != "mov,mp4,m4a,3gp,3g2,mj2" || v.stream.NbFrames() <= 0 {
		return false
	}
	switch v.stream.CodecParameters().CodecID() {
	case astiav.CodecIDH264, astiav.CodecIDHevc, astiav.CodecIDMpeg4, astiav.CodecIDVp9:
	default:
		return false
	}
	// Walk the top-level boxes (a handful of 16-byte reads).
	size, n, ok := in.Size(), 0, true
	eachBox(inputReaderAt{in}, 0, size, func(b mp4Box) bool {
		switch n++; {
		case b.cut: // a file ending inside a header's 8 bytes is whole; a failed read is not
			ok = b.typ == "" && b.end() > size
		case n > 33, b.typ == "moof", b.typ == "mfra", b.size < 8:
			ok = false
		}
		return ok
	})
	return ok
}
