package media_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestTruncatedFound: MKV, WebM, MPEG-TS, AVI and MP4 files cut short (half,
// 90 %, a few bytes short) fail when opened or mapped, before any frame is
// decoded, with an error naming the file and saying it is truncated. (Intact
// files of every corpus format pass TestFrameExact, which maps them whole.)
func TestTruncatedFound(t *testing.T) {
	for _, name := range []string{"h264_10bit", "audio_first", "vp9", "odd_size", "mpegts", "h264_avi", "mpeg4_avi", "h264_bframes", "hevc", "mkv_live"} {
		intact := testcorpus.Path(t, testcorpus.Get(name))
		data, err := os.ReadFile(intact)
		if err != nil {
			t.Fatal(err)
		}
		for _, cut := range []struct {
			name string
			size int
		}{{"half", len(data) / 2}, {"90pct", len(data) * 9 / 10}, {"3_bytes_short", len(data) - 3}} {
			t.Run(name+"_"+cut.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), filepath.Base(intact))
				if err := os.WriteFile(path, data[:cut.size], 0o644); err != nil {
					t.Fatal(err)
				}
				v, err := media.Open(path, media.OpenOptions{})
				if err == nil {
					defer v.Close()
					_, err = v.Scan(0)
				}
				if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), "truncated") {
					t.Fatalf("cut to %d of %d bytes: %v, want an error naming %s and saying truncated", cut.size, len(data), err, path)
				}
				t.Log(err)
			})
		}
	}
}
