package stages

import (
	"testing"

	"github.com/vpipe/vpipe/media"
)

// Decoder threads when stages.decode.threads is 0 (issue 19 item 2): once
// PNG level 1 is vpipe's own encoder (~5 ms a 1080p frame against ~9 ms to
// decode it), decoding sets the pace of a dense full-size run, so FFmpeg
// picks its threads (0); one thread only where zlib's deflate (levels 2-9)
// costs more than decoding.
func TestAutoDecodeThreads(t *testing.T) {
	for _, c := range []struct {
		o           media.EncodeOptions
		dense, full bool
		want        int
	}{
		{media.EncodeOptions{Format: "png", Compression: 1}, true, true, 0},
		{media.EncodeOptions{Format: "png", Compression: 0}, true, true, 0},
		{media.EncodeOptions{Format: "png", Compression: 2}, true, true, 1},
		{media.EncodeOptions{Format: "png", Compression: 9}, true, true, 1},
		{media.EncodeOptions{Compression: 6}, true, true, 1},
		{media.EncodeOptions{Format: "png", Compression: 6}, false, true, 0},
		{media.EncodeOptions{Format: "png", Compression: 6}, true, false, 0},
		{media.EncodeOptions{Format: "jpeg"}, true, true, 0},
		{media.EncodeOptions{Format: "webp", Lossless: true}, true, true, 0},
	} {
		if got := autoDecodeThreads(c.o, c.dense, c.full); got != c.want {
			t.Errorf("%+v dense=%v full=%v: %d threads, want %d", c.o, c.dense, c.full, got, c.want)
		}
	}
}
