package media_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestRawStreamTimes: a raw H.264/HEVC stream has no timestamps; its map is
// numbered by packet (untrusted) and frame i gets the time the CLI makes up,
// i / frame rate (25 fps, 48000 ticks of 1/1200000 a frame). TestFrameExact
// holds its pixels against the CLI's.
func TestRawStreamTimes(t *testing.T) {
	for _, name := range []string{"h264_raw", "hevc_raw"} {
		t.Run(name, func(t *testing.T) {
			v := testcorpus.Get(name)
			vid, x := openScan(t, testcorpus.Path(t, v))
			defer vid.Close()
			if x.Trusted || x.Count != v.Frames || !x.Complete {
				t.Fatalf("want an untrusted complete map of %d frames, got trusted=%v count=%d complete=%v", v.Frames, x.Trusted, x.Count, x.Complete)
			}
			want := []int{0, 13, v.Frames - 1}
			var got []int
			err := vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
				defer p.Release()
				got = append(got, p.Index)
				if p.PTS != int64(p.Index)*48000 || p.Time != float64(p.Index)/25 {
					t.Errorf("frame %d: pts %d time %v, want %d, %v", p.Index, p.PTS, p.Time, p.Index*48000, float64(p.Index)/25)
				}
				return nil
			})
			if err != nil || len(got) != len(want) {
				t.Fatalf("emitted %v, want %v: %v", got, want, err)
			}
			// The tail is reached by a byte seek to a GOP (rawseek.go), not by
			// decoding from the start; TestFrameExact holds its frames against the CLI's.
			err = vid.Decode(context.Background(), x, []int{v.Frames - 2, v.Frames - 1}, media.DecodeOptions{}, func(p *media.Picture) error {
				p.Release()
				return nil
			})
			if st := vid.Stats(); err != nil || st.Seeks != 1 || st.Restarted || st.Decoded >= v.Frames-12 {
				t.Fatalf("tail: %v, stats %+v: want one seek, no restart, fewer than %d frames decoded", err, st, v.Frames-12)
			}
		})
	}
}

// TestRawStreamSparse: sparse frames of a long raw H.264 stream are each
// reached by a byte seek to a GOP, byte-identical to the CLI's frames.
func TestRawStreamSparse(t *testing.T) {
	path := testcorpus.Path(t, testcorpus.LongRaw)
	vid, x := openScan(t, path)
	defer vid.Close()
	want := []int{7, 260, 513, 766, 1019, 1272, 1499}
	conv, err := media.NewConverter("bicubic")
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	ref, w, h := testcorpus.Reference(t, path, want, "", "bicubic")
	k := 0
	err = vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
		defer p.Release()
		im, err := conv.Convert(p, w, h)
		if err != nil {
			return err
		}
		defer im.Release()
		if p.Index != want[k] || diff(im.Pix, ref[k]) != 0 {
			return fmt.Errorf("frame %d (want %d) differs from the CLI's frame n=%d", p.Index, want[k], want[k])
		}
		k++
		return nil
	})
	if err != nil || k != len(want) {
		t.Fatalf("%d of %d frames: %v", k, len(want), err)
	}
	st := vid.Stats()
	t.Logf("%+v", st)
	if st.Seeks != len(want)-1 || st.Restarted || st.Decoded > 800 {
		t.Fatalf("want %d seeks, no restart, a fraction of the 1500 frames decoded: %+v", len(want)-1, st)
	}
}
