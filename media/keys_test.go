package media_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestKeyframesOnly: decoding the keyframes with KeyframesOnly produces those
// frames and no other (the decoder drops the rest unread, as -skip_frame
// nokey), and each picture's luma can be read in place. FFmpeg 5.1's VP9
// decoder ignores skip_frame (the CLI's -skip_frame nokey outputs all 60
// frames of vp9.webm): there the frames between are decoded and dropped. So
// are they where frames are numbered by packet (h264_avi: no PTS), which needs
// every frame decoded.
func TestKeyframesOnly(t *testing.T) {
	for _, name := range []string{"h264_bframes", "h264_opengop", "hevc", "vp9", "mpegts", "h264_10bit", "mpeg4", "h264_avi", "mkv_live"} {
		t.Run(name, func(t *testing.T) {
			vid, x := openScan(t, testcorpus.Path(t, testcorpus.Get(name)))
			defer vid.Close()
			keys := x.KeyIndices()
			if len(keys) < 2 || keys[0] != 0 {
				t.Fatalf("keyframes %v", keys)
			}
			var got []int
			err := vid.Decode(context.Background(), x, keys, media.DecodeOptions{KeyframesOnly: true}, func(p *media.Picture) error {
				defer p.Release()
				got = append(got, p.Index)
				l, ok := p.Luma()
				if !ok {
					return fmt.Errorf("frame %d: no luma for %s", p.Index, media.PixFmtName(p.PixFmt))
				}
				if !l.Wide && l.At(1, 1) != p.Buf[p.Width+1] {
					return fmt.Errorf("frame %d: luma (1,1) is %d, the Y plane holds %d", p.Index, l.At(1, 1), p.Buf[p.Width+1])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(keys) {
				t.Fatalf("decoded %v, want the keyframes %v", got, keys)
			}
			if st := vid.Stats(); st.Decoded != len(keys) && name != "vp9" && x.Trusted {
				t.Errorf("the decoder produced %d frames for %d keyframes", st.Decoded, len(keys))
			}
		})
	}
}

// TestKeyframesOnlyOpenGOP: on a longer open-GOP H.264 video (x264
// open-gop=1, keyint 25, 3 B-frames: every keyframe after the first is a
// recovery-point I frame, not an IDR) the H.264 decoder told to skip non-key
// frames puts out its pictures in a scrambled order (the CLI's -skip_frame
// nokey writes frames 50, 25, 0 and stops). Every keyframe must still come
// out, with the pixels a plain decode of that frame gives.
func TestKeyframesOnlyOpenGOP(t *testing.T) {
	vid, x := openScan(t, testcorpus.Path(t, testcorpus.LongOpenGOP))
	defer vid.Close()
	keys := x.KeyIndices()
	if len(keys) != 20 {
		t.Fatalf("keyframes %v, want 20 (one a second)", keys)
	}
	decode := func(o media.DecodeOptions) (idx []int, pix [][]byte) {
		err := vid.Decode(context.Background(), x, keys, o, func(p *media.Picture) error {
			defer p.Release()
			idx = append(idx, p.Index)
			pix = append(pix, append([]byte(nil), p.Buf...))
			return nil
		})
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		return idx, pix
	}
	gotIdx, got := decode(media.DecodeOptions{KeyframesOnly: true})
	st := vid.Stats()
	t.Logf("keyframes only: %d frames decoded for %d keyframes (fell back to plain decoding: %v)", st.Decoded, len(keys), st.SkipDropped)
	wantIdx, want := decode(media.DecodeOptions{})
	if fmt.Sprint(gotIdx) != fmt.Sprint(wantIdx) {
		t.Fatalf("keyframes only: frames %v, want %v", gotIdx, wantIdx)
	}
	for k := range got {
		if string(got[k]) != string(want[k]) {
			t.Errorf("keyframe %d: the pixels differ from a plain decode's", gotIdx[k])
		}
	}
}
