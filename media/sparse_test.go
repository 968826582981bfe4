package media_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/sampling"
)

// sparseVideos are the corpus and the formats it lacks for sparse decoding:
// MPEG-2 with timestamps (TS), HEVC with temporal sub-layers, H.264 without
// reorder depth in its SPS (MP4 and raw), MPEG-4 part 2 packed B-frames (AVI
// and Matroska).
func sparseVideos() []testcorpus.Video {
	return append(append([]testcorpus.Video{}, testcorpus.All...), testcorpus.MPEG2TS, testcorpus.HEVCLayers,
		testcorpus.NoReorderInfo, testcorpus.NoReorderInfoRaw, testcorpus.MPEG4Packed, testcorpus.MPEG4PackedMKV)
}

// noNonRef are the videos without a frame their decoder may drop: no
// B-frames (h264_nob), a decoder vpipe does not let drop (VP9), H.264 whose
// SPS does not state the reorder depth, MPEG-4 packed B-frames.
var noNonRef = map[string]bool{"h264_nob": true, "vp9": true, "odd_size": true,
	"h264_noreorder": true, "h264_noreorder_raw": true, "mpeg4_packed": true, "mpeg4_packed_mkv": true}

type selection struct {
	name string
	want []int
}

// sparseSelections are steps 2, 3, 5, 7 and a frames: list whose gaps leave
// whole GOPs (of 9 to 12 frames) without a wanted frame.
func sparseSelections(n int) []selection {
	var out []selection
	for _, step := range []int{2, 3, 5, 7} {
		s := sampling.Spec{Step: step}
		out = append(out, selection{fmt.Sprintf("step%d", step), s.Indices(n, nil)})
	}
	return append(out, selection{"frames", []int{1, 2, 4, 5, 13, n - 2}})
}

// TestSparseExact (issue 19): with the decoder let drop the unwanted frames
// nothing refers to, every selected frame of every corpus video is
// byte-identical to the CLI's frame of that index (select on n), for steps
// 2, 3, 5, 7 and a frames: list; and frames were dropped wherever the codec
// has non-reference frames: fewer decoded than when decoding everything,
// for every selection where frames are numbered by PTS, and for the list
// (whose gaps pass whole GOPs) where they are numbered by packet.
func TestSparseExact(t *testing.T) {
	for _, v := range sparseVideos() {
		t.Run(v.Name, func(t *testing.T) {
			path := testcorpus.Path(t, v)
			vid, x := openScan(t, path)
			defer vid.Close()
			conv, err := media.NewConverter("bicubic")
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			for _, sel := range sparseSelections(x.Count) {
				t.Run(sel.name, func(t *testing.T) {
					ref, w, h := testcorpus.Reference(t, path, sel.want, "", "bicubic")
					decodeExact(t, vid, x, conv, sel.want, media.DecodeOptions{}, ref, w, h)
					sp := vid.Stats()
					decodeExact(t, vid, x, conv, sel.want, media.DecodeOptions{DecodeAll: true}, ref, w, h)
					all := vid.Stats()
					t.Logf("trusted=%v: %d packets sent, %d droppable, %d frames decoded (all decoded: %d) for %d wanted; %s",
						x.Trusted, sp.Sent, sp.Droppable, sp.Decoded, all.Decoded, len(sel.want), sp.NoDrop)
					checkDropped(t, v.Name, x.Trusted || sel.name == "frames", sp, all)
				})
			}
		})
	}
}

// checkDropped holds a sparse decode's counters against a full one's.
func checkDropped(t *testing.T, name string, expect bool, sp, all media.DecodeStats) {
	t.Helper()
	switch {
	case all.Droppable != 0 || all.NoDrop == "":
		t.Errorf("DecodeAll let the decoder drop %d packets (%q)", all.Droppable, all.NoDrop)
	case sp.Decoded > all.Decoded:
		t.Errorf("decoded %d frames, more than the %d of a full decode", sp.Decoded, all.Decoded)
	case noNonRef[name]:
		if sp.Decoded != all.Decoded {
			t.Errorf("decoded %d frames, a full decode %d: nothing should be dropped", sp.Decoded, all.Decoded)
		}
	case sp.NoDrop != "":
		t.Errorf("the decoder was not let drop frames: %s", sp.NoDrop)
	case expect && (sp.Droppable == 0 || sp.Decoded >= all.Decoded):
		t.Errorf("nothing dropped: %d droppable, %d frames decoded, %d in a full decode", sp.Droppable, sp.Decoded, all.Decoded)
	}
}

// decodeExact decodes want and holds each frame against ref, the CLI's.
func decodeExact(t *testing.T, vid *media.Video, x *media.Index, conv *media.Converter, want []int, o media.DecodeOptions,
	ref [][]byte, w, h int) {
	t.Helper()
	var got []int
	err := vid.Decode(context.Background(), x, want, o, func(p *media.Picture) error {
		defer p.Release()
		dw, dh := vid.Info.DisplaySize()
		im, err := conv.Convert(p, dw, dh)
		if err != nil {
			return err
		}
		defer im.Release()
		k := len(got)
		got = append(got, p.Index)
		switch {
		case k >= len(want):
			return fmt.Errorf("extra frame %d", p.Index)
		case im.Width != w || im.Height != h:
			return fmt.Errorf("frame %d: %dx%d, ffmpeg %dx%d", p.Index, im.Width, im.Height, w, h)
		case diff(im.Pix, ref[k]) != 0:
			return fmt.Errorf("frame %d differs from ffmpeg's frame n=%d in %d bytes (closest ffmpeg frame: %s)",
				p.Index, want[k], diff(im.Pix, ref[k]), closest(im.Pix, ref, want))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("DecodeAll=%v: %v", o.DecodeAll, err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("DecodeAll=%v: emitted %v, want %v", o.DecodeAll, got, want)
	}
}

// Where references cannot be known, everything is decoded: FFmpeg 5.1's VP9
// decoder ignores skip_frame, and vpipe does not guess which VP9 frames are
// references; keyframes-only decoding drops more already; an H.264 SPS
// without max_num_reorder_frames leaves FFmpeg to learn the reorder depth
// from the pictures it decodes; a packed MPEG-4 B-frame is decoded with the
// packet after its own.
func TestSparseFallback(t *testing.T) {
	for _, c := range []struct {
		video testcorpus.Video
		why   string
		o     media.DecodeOptions
	}{
		{testcorpus.Get("vp9"), "the vp9 decoder", media.DecodeOptions{}},
		{testcorpus.Get("h264_bframes"), "keyframes only", media.DecodeOptions{KeyframesOnly: true}},
		{testcorpus.NoReorderInfo, "reorder depth", media.DecodeOptions{}},
		{testcorpus.NoReorderInfoRaw, "reorder depth", media.DecodeOptions{}},
		{testcorpus.MPEG4Packed, "packed B-frames", media.DecodeOptions{}},
		{testcorpus.MPEG4PackedMKV, "packed B-frames", media.DecodeOptions{}},
	} {
		t.Run(c.video.Name, func(t *testing.T) {
			vid, x := openScan(t, testcorpus.Path(t, c.video))
			defer vid.Close()
			want := []int{0, 12, 24, 36}
			err := vid.Decode(context.Background(), x, want, c.o, func(p *media.Picture) error { p.Release(); return nil })
			if err != nil {
				t.Fatal(err)
			}
			st := vid.Stats()
			if st.Droppable != 0 || !strings.Contains(st.NoDrop, c.why) {
				t.Fatalf("%d packets droppable, why not: %q (want %q)", st.Droppable, st.NoDrop, c.why)
			}
		})
	}
}

// Salvaging, frames the decoder was let drop are not reported lost: a healthy
// video loses nothing; in a damaged one numbered by packet (h264_avi, packet
// 24 zeroed: GOP 24-35), a selection that passes that GOP loses nothing, and
// one that wants its frames loses only frames of it.
func TestSparseSalvage(t *testing.T) {
	for _, name := range []string{"h264_bframes", "h264_avi", "hevc", "mpeg4", "h264_raw"} {
		t.Run(name, func(t *testing.T) {
			v := testcorpus.Get(name)
			for _, sel := range sparseSelections(v.Frames) {
				got, lost := salvageDecode(t, testcorpus.Path(t, v), sel.want, nil, 0, 0)
				if len(lost) != 0 || fmt.Sprint(got) != fmt.Sprint(sel.want) {
					t.Fatalf("%s: emitted %v, lost %v; want %v", sel.name, got, lost, sel.want)
				}
			}
		})
	}
	intact := testcorpus.Path(t, testcorpus.Get("h264_avi"))
	damaged := testcorpus.ZeroPacket(t, intact, 24)
	all := make([]int, 75)
	for i := range all {
		all[i] = i
	}
	ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
	if got, lost := salvageDecode(t, damaged, []int{1, 2, 60, 70}, ref, w, h); len(lost) != 0 || fmt.Sprint(got) != "[1 2 60 70]" {
		t.Errorf("passing the damaged GOP: emitted %v, lost %v", got, lost)
	}
	got, lost := salvageDecode(t, damaged, []int{1, 2, 26, 30, 60, 70}, ref, w, h)
	for _, i := range lost {
		if i < 24 || i >= 36 {
			t.Errorf("frame %d lost, outside the damaged GOP 24-35", i)
		}
	}
	if len(lost) == 0 || len(got)+len(lost) != 6 {
		t.Errorf("wanting the damaged GOP: emitted %v, lost %v", got, lost)
	}
}

// BenchmarkSparseDecode measures decode-only speed for every 5th frame of
// the video VPIPE_BENCH_VIDEO (e.g. bench/work/camera_1080p30_20s.mp4), with
// the decoder let drop unwanted non-reference frames (sparse) and made to
// decode them all (all): go test ./media -run X -bench SparseDecode -benchtime 1x.
func BenchmarkSparseDecode(b *testing.B) {
	path := os.Getenv("VPIPE_BENCH_VIDEO")
	if path == "" {
		b.Skip("set VPIPE_BENCH_VIDEO to a video")
	}
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer vid.Close()
	x, err := vid.Scan(0)
	if err != nil {
		b.Fatal(err)
	}
	want := sampling.Spec{Step: 5}.Indices(x.Count, nil)
	for _, all := range []bool{false, true} {
		name := map[bool]string{false: "sparse", true: "all"}[all]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				err := vid.Decode(context.Background(), x, want, media.DecodeOptions{DecodeAll: all}, func(p *media.Picture) error {
					p.Release()
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			st := vid.Stats()
			b.ReportMetric(float64(st.Decoded), "decoded/op")
			b.ReportMetric(float64(st.Droppable), "droppable/op")
		})
	}
}
