package media_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestDamagedPacketLeavesGap: where PTS cannot give presentation order (H.264
// with B-frames in AVI, or in MP4 without CTTS), frames are numbered by the
// packet they came from. A packet whose bytes are zeroed yields no frame; every
// frame outside its GOP must still come out under its own index, equal to the
// ffmpeg CLI's frame of that index in the intact file, and a wanted frame of
// the damaged GOP is an error naming an index of it, never a shifted frame.
func TestDamagedPacketLeavesGap(t *testing.T) {
	for _, c := range []struct {
		video  string
		packet int    // decode order; GOPs of 12 packets
		head   []byte // the damaged packet's first bytes, then zeros
	}{
		{"h264_avi", 24, nil},   // the keyframe of frames 24-35
		{"h264_avi", 31, nil},   // a frame inside that GOP
		{"h264_nocts", 24, nil}, // MP4 without CTTS: same numbering
		{"h264_nocts", 30, nil},
		// MPEG-4 part 2 in AVI, a B-VOP replaced by an N-VOP (vop_coded 0): the
		// decoder skips it without an error, as the CLI does, so the loss is only
		// seen when the GOP ends a frame short.
		{"mpeg4_avi", 30, []byte{0, 0, 1, 0xb6, 0x90, 0x40}},
	} {
		t.Run(fmt.Sprintf("%s_packet%d_%x", c.video, c.packet, c.head), func(t *testing.T) {
			intact := testcorpus.Path(t, testcorpus.Get(c.video))
			damaged := testcorpus.OverwritePacket(t, intact, c.packet, c.head)
			vid, x := openScan(t, damaged)
			defer vid.Close()
			if x.Trusted || x.Count != 75 {
				t.Fatalf("want an untrusted map of 75 frames, got trusted=%v count=%d", x.Trusted, x.Count)
			}
			all := make([]int, x.Count)
			for i := range all {
				all[i] = i
			}
			ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
			conv, err := media.NewConverter("bicubic")
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			decode := func(want []int) ([]int, error) {
				var got []int
				err := vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
					defer p.Release()
					got = append(got, p.Index)
					im, err := conv.Convert(p, w, h)
					if err != nil {
						return err
					}
					defer im.Release()
					if d := diff(im.Pix, ref[p.Index]); d != 0 {
						return fmt.Errorf("frame %d differs from the intact file's frame %d in %d bytes (closest: %s)",
							p.Index, p.Index, d, closest(im.Pix, ref, all))
					}
					return nil
				})
				return got, err
			}

			// The damaged packet's GOP, in decode order, is those frames in presentation order.
			first, end := gopOf(t, intact, c.packet)
			// Every frame outside it, exact.
			var outside []int
			for i := range all {
				if i < first || i >= end {
					outside = append(outside, i)
				}
			}
			got, err := decode(outside)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(outside) {
				t.Fatalf("emitted %v, want %v", got, outside)
			}

			// All frames: the damaged GOP is an error naming one of its frames.
			_, err = decode(all)
			var fe *media.FrameError
			if !errors.As(err, &fe) || fe.Index < first || fe.Index >= end || fe.Video != damaged {
				t.Fatalf("decoding every frame: %v, want a FrameError for %s naming a frame of %d-%d", err, damaged, first, end-1)
			}
			t.Log(err)
		})
	}
}

// gopOf is the range of decode positions from the keyframe packet at or before
// packet k to the next keyframe, as ffprobe flags them.
func gopOf(t *testing.T, path string, k int) (first, end int) {
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	flags := strings.Fields(string(b))
	first, end = 0, len(flags)
	for i, f := range flags {
		if strings.HasPrefix(f, "K") {
			if i <= k {
				first = i
			} else if end == len(flags) {
				end = i
			}
		}
	}
	return first, end
}
