package media

import (
	"errors"
	"fmt"
	"os"
)

// Raw elementary streams (.h264, .hevc, .m4v, .m2v …) have no container to
// say where a packet ends: FFmpeg's parser gathers bytes until it finds the
// start of the next frame, in one buffer that doubles as it grows. A file with
// no frame boundary (zeros named .h264, say) was gathered whole: 2.2 times its
// size in memory before FFmpeg gave up. vpipe reads such a local file through
// its own I/O (customIO) and stops the demuxer once it has read maxRawPacket
// bytes for one packet (or for the stream-info probe).

// maxRawPacket bounds what the demuxer of a raw stream may read for one
// packet: far more than a compressed frame takes (an 8K intra frame: a few MB).
const maxRawPacket = 32 << 20

// rawStreams are FFmpeg's demuxers of elementary streams framed by a parser.
var rawStreams = map[string]bool{
	"h264": true, "hevc": true, "vvc": true, "m4v": true, "mpegvideo": true, "cavsvideo": true,
	"avs2": true, "avs3": true, "vc1": true, "h261": true, "h263": true, "mjpeg": true, "dirac": true,
}

// errGathered: the demuxer read maxRawPacket bytes without a packet.
type errGathered struct{ format string }

func (e errGathered) Error() string {
	return fmt.Sprintf("the %s parser read %d MB without finding where a frame ends (it gathers a packet in memory until it does): not a %s stream, or damaged",
		e.format, maxRawPacket>>20, e.format)
}

// fileInput is a local file as an Input.
type fileInput struct {
	*os.File
	size int64
}

func (f fileInput) Size() int64 { return f.size }

// readRawLocally reopens a local raw stream through customIO, so that what
// its demuxer reads can be bounded; false when it is no such file.
func (v *Video) readRawLocally(format string) bool {
	if v.opts.Input != nil || !rawStreams[format] {
		return false
	}
	st, err := os.Stat(v.src)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(v.src)
	if err != nil {
		return false
	}
	v.local = f
	v.opts.Input = fileInput{File: f, size: st.Size()}
	return true
}

// limitRaw bounds the bytes the demuxer of a raw stream (format) may read
// from now until the next packet (restarted by readPackets).
func (v *Video) limitRaw(format string) {
	if v.cio != nil && rawStreams[format] {
		v.cio.limit, v.cio.since, v.cio.format = maxRawPacket, 0, format
	}
}

// refusal is the error of a demuxer stopped by limitRaw (nil if it was not).
func (v *Video) refusal() error {
	var g errGathered
	if v.cio != nil && errors.As(v.cio.lastErr, &g) {
		return fmt.Errorf("%s: refused: %w", v.name, g)
	}
	return nil
}

// closeLocal closes the file readRawLocally opened.
func (v *Video) closeLocal() {
	if v.local != nil {
		v.local.Close()
		v.local = nil
		v.opts.Input = nil
	}
}
