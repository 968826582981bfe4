package media_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// salvageDecode decodes want with Salvage on: the frames emitted (checked
// against ref when given) and those lost; a frame taken back is not emitted.
func salvageDecode(t *testing.T, path string, want []int, ref [][]byte, w, h int) (emitted, lost []int) {
	t.Helper()
	emitted, lost, _ = salvageMapDecode(t, path, want, ref, w, h)
	return emitted, lost
}

// salvageMapDecode is salvageDecode that also returns the salvage map.
func salvageMapDecode(t *testing.T, path string, want []int, ref [][]byte, w, h int) (emitted, lost []int, x *media.Index) {
	t.Helper()
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer vid.Close()
	vid.Salvage = true
	x, err = vid.Scan(0)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := media.NewConverter("bicubic")
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	out := map[int]bool{}
	o := media.DecodeOptions{Lost: func(l media.LostFrame) {
		lost = append(lost, l.Index)
		delete(out, l.Index)
	}}
	err = vid.Decode(context.Background(), x, want, o, func(p *media.Picture) error {
		defer p.Release()
		out[p.Index] = true
		if ref == nil {
			return nil
		}
		im, err := conv.Convert(p, w, h)
		if err != nil {
			return err
		}
		defer im.Release()
		if d := diff(im.Pix, ref[p.Index]); d != 0 {
			return fmt.Errorf("frame %d differs from the intact file's in %d bytes", p.Index, d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		emitted = append(emitted, i)
	}
	sort.Ints(emitted)
	sort.Ints(lost)
	return emitted, lost, x
}

// Salvage costs a healthy video nothing: every frame of every corpus video
// comes out, none is reported lost (no false alarm from the decoder's flags,
// open GOPs, B-frames without CTTS, seeks).
func TestSalvageHealthy(t *testing.T) {
	for _, v := range testcorpus.All {
		t.Run(v.Name, func(t *testing.T) {
			path := testcorpus.Path(t, v)
			all := make([]int, v.Frames)
			for i := range all {
				all[i] = i
			}
			sparse := []int{3, v.Frames / 2, v.Frames - 1}
			for _, want := range [][]int{all, sparse} {
				got, lost := salvageDecode(t, path, want, nil, 0, 0)
				if len(lost) != 0 || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("emitted %v, lost %v; want %v", got, lost, want)
				}
			}
		})
	}
}

// On streams numbered by packet (no usable PTS), a zeroed packet leaves its
// GOP unnumberable: salvage writes every other frame, exact, and lists only
// frames of that GOP.
func TestSalvageNumberedByPacket(t *testing.T) {
	for _, c := range []struct {
		video  string
		packet int
		head   []byte
	}{
		{"h264_avi", 24, nil}, {"h264_nocts", 30, nil}, {"mpeg4_avi", 30, []byte{0, 0, 1, 0xb6, 0x90, 0x40}},
	} {
		t.Run(fmt.Sprintf("%s_%d", c.video, c.packet), func(t *testing.T) {
			intact := testcorpus.Path(t, testcorpus.Get(c.video))
			damaged := testcorpus.OverwritePacket(t, intact, c.packet, c.head)
			all := make([]int, 75)
			for i := range all {
				all[i] = i
			}
			ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
			got, lost := salvageDecode(t, damaged, all, ref, w, h)
			first, end := gopOf(t, intact, c.packet)
			if len(got)+len(lost) != 75 || len(lost) == 0 {
				t.Fatalf("emitted %v, lost %v", got, lost)
			}
			for _, i := range lost {
				if i < first || i >= end {
					t.Errorf("frame %d lost, outside the damaged GOP %d-%d", i, first, end-1)
				}
			}
			t.Logf("lost %v (GOP %d-%d)", lost, first, end-1)
		})
	}
}
