package media_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// Issue 16: a 2.6 KB MP4 whose sample tables declare millions of samples
// (constant size, all in one chunk) has FFmpeg's demuxer build an index of
// them all at open (60 million: 2.8 GB). Open refuses it first, naming the
// file, the track and the box; so it does one that declares fewer samples
// than vpipe indexes but more than the file can hold. (cmd/vpipe's
// TestHostileInputBounded measures the memory.)
func TestHostileMP4Refused(t *testing.T) {
	for _, n := range []uint32{60_000_000, 5_000_000} {
		path := testcorpus.HostileMP4(t, n)
		v, err := media.Open(path, media.OpenOptions{})
		if err == nil {
			v.Close()
		}
		if err == nil || !strings.Contains(err.Error(), path+": refused: ") || !strings.Contains(err.Error(), "(stsz)") {
			t.Fatalf("%d samples: %v, want a refusal naming %s and stsz", n, err, path)
		}
		t.Log(err)
	}
}
