package media_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/sampling"
)

func ip(i int) *int { return &i }

// windows are the start/end/step sets every corpus video is checked with.
func windows(n int) []sampling.Spec {
	return []sampling.Spec{
		{Step: 1},                                 // every frame
		{Start: 5, End: ip(20), Step: 1},          // starts mid-GOP
		{Start: 11, End: ip(31), Step: 2},         // starts just before a keyframe (GOP 10 or 12)
		{Start: 9, End: ip(n), Step: 3},           // just before a keyframe, to the end
		{Start: n - 7, Step: 1},                   // the end
		{Start: n / 2, End: ip(n/2 + 1), Step: 1}, // a single frame
		{Start: 0, Step: 30},                      // sparse: a seek per wanted frame
	}
}

// TestFrameExact holds every frame vpipe decodes against the frame the ffmpeg CLI
// selects for the same index (select on n, -fps_mode passthrough), pixel for pixel;
// the corpus and MPEG-4 packed B-frames (Xvid in AVI, copied to Matroska: a
// B-frame comes out of the decoder with the next packet, and the AVI flags key
// the N-VOP after a packed I-frame).
func TestFrameExact(t *testing.T) {
	for _, v := range append(append([]testcorpus.Video{}, testcorpus.All...), testcorpus.MPEG4Packed, testcorpus.MPEG4PackedMKV) {
		v := v
		t.Run(v.Name, func(t *testing.T) {
			path := testcorpus.Path(t, v)
			vid, x := openScan(t, path)
			defer vid.Close()
			if cli := testcorpus.FrameCount(t, path); x.Count != cli || x.Count != v.Frames {
				t.Fatalf("frame count: vpipe %d, ffprobe %d, recipe %d", x.Count, cli, v.Frames)
			}
			conv, err := media.NewConverter("bicubic")
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			for _, spec := range windows(x.Count) {
				want := spec.Indices(x.Count, nil)
				t.Run(fmt.Sprintf("start%d_step%d_n%d", spec.Start, spec.Step, len(want)), func(t *testing.T) {
					ref, w, h := testcorpus.Reference(t, path, want, "", "bicubic")
					var got []int
					err := vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
						defer p.Release()
						dw, dh := vid.Info.DisplaySize()
						im, err := conv.Convert(p, dw, dh)
						if err != nil {
							return err
						}
						defer im.Release()
						k := len(got)
						got = append(got, p.Index)
						if k >= len(want) {
							return fmt.Errorf("extra frame %d", p.Index)
						}
						if im.Width != w || im.Height != h {
							return fmt.Errorf("frame %d: %dx%d, ffmpeg %dx%d", p.Index, im.Width, im.Height, w, h)
						}
						if d := diff(im.Pix, ref[k]); d != 0 {
							return fmt.Errorf("frame %d differs from ffmpeg's frame n=%d in %d bytes (closest ffmpeg frame: %s)",
								p.Index, want[k], d, closest(im.Pix, ref, want))
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("emitted %v, want %v", got, want)
					}
					st := vid.Stats()
					t.Logf("seeks=%d restarted=%v decoded=%d for %d wanted", st.Seeks, st.Restarted, st.Decoded, len(want))
					// Where the container has an index and PTS are trusted, a window near the
					// end must be reached by one seek, not by decoding everything before it.
					if spec.Start == x.Count-7 && x.Trusted && seekable[v.Name] && (!st.Seeked || st.Restarted || st.Decoded >= x.Count) {
						t.Errorf("expected one trusted seek: %+v", st)
					}
					// Sparse frames are reached by seeking to each, not by decoding through.
					if spec.Step == 30 && seekable[v.Name] && (st.Seeks != len(want)-1 || st.Restarted) {
						t.Errorf("expected %d trusted seeks: %+v", len(want)-1, st)
					}
				})
			}
		})
	}
}

// seekable are the corpus files whose seeks must be taken and trusted.
var seekable = map[string]bool{"h264_bframes": true, "h264_nob": true, "h264_opengop": true,
	"hevc": true, "vp9": true, "mpeg4": true, "h264_10bit": true, "vfr": true, "audio_first": true, "rotated": true, "mpegts": true}

// openScan opens a video and builds its whole PTS map.
func openScan(t *testing.T, path string) (*media.Video, *media.Index) {
	t.Helper()
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := vid.Scan(0)
	if err != nil {
		vid.Close()
		t.Fatal(err)
	}
	return vid, x
}

func diff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func closest(pix []byte, ref [][]byte, idx []int) string {
	best, bi := -1, -1
	for i, r := range ref {
		if d := diff(pix, r); best < 0 || d < best {
			best, bi = d, i
		}
	}
	return fmt.Sprintf("n=%d (%d bytes differ)", idx[bi], best)
}
