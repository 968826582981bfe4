package media

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// The HEVC guard on real packets. x265 without temporal layers (hevc, in MP4
// and raw: hvcC and Annex B) puts every picture in sub-layer 0, the only
// one: every packet may be dropped if unwanted. With a temporal sub-layer
// (hevc_layers) its non-reference B-frames are in sub-layer 1, the highest,
// and may be dropped; its RASL_N pictures are in sub-layer 0, where a
// picture of sub-layer 1 could refer to them: those are kept, though FFmpeg
// would drop them. A packet cut short cannot be parsed: kept.
func TestHEVCLayersGuard(t *testing.T) {
	for _, c := range []struct {
		video testcorpus.Video
		top   int
		kept  []int // NAL types of the packets the guard keeps
	}{
		{testcorpus.Get("hevc"), 0, nil}, {testcorpus.Get("hevc_raw"), 0, nil}, {testcorpus.HEVCLayers, 1, []int{8, 8}},
	} {
		t.Run(c.video.Name, func(t *testing.T) {
			vid, err := Open(testcorpus.Path(t, c.video), OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer vid.Close()
			h := newHEVCLayers(vid.stream.CodecParameters().ExtraData())
			var kept []int
			n, cut := 0, 0
			err = vid.readPackets(func(p *astiav.Packet) error {
				b := packetBytes(p)
				if !h.safe(b) {
					kept = append(kept, firstVCL(t, b, h.lenSize))
				}
				if len(b) > 8 && h.safe(b[:len(b)/2]) && h.lenSize > 0 {
					cut++
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if h.top != c.top || len(kept) != len(c.kept) || cut != 0 {
				t.Fatalf("top sub-layer %d (want %d); kept %d of %d packets, NAL types %v (want %v); %d cut packets passed",
					h.top, c.top, len(kept), n, kept, c.kept, cut)
			}
			for k := range kept {
				if kept[k] != c.kept[k] {
					t.Fatalf("kept packets of NAL types %v, want %v", kept, c.kept)
				}
			}
		})
	}
}

// firstVCL is the type of the packet's first slice NAL unit.
func firstVCL(t *testing.T, b []byte, lenSize int) int {
	typ := -1
	eachNAL(b, lenSize, func(nal []byte) bool {
		if x := int(nal[0]>>1) & 0x3f; x < 32 {
			typ = x
			return false
		}
		return true
	})
	return typ
}

// The H.264 reorder guard on real streams: x264's SPS states the reorder
// depth (2 with its default B-pyramid and 3 B-frames), in MP4 (avcC) and raw
// (Annex B, in-band); with the restriction cut out (testcorpus.NoReorderInfo)
// no packet may be dropped. An SPS cut short is not read.
func TestH264ReorderGuard(t *testing.T) {
	for _, c := range []struct {
		video testcorpus.Video
		safe  bool
	}{
		{testcorpus.Get("h264_bframes"), true}, {testcorpus.Get("h264_raw"), true},
		{testcorpus.NoReorderInfo, false}, {testcorpus.NoReorderInfoRaw, false},
	} {
		t.Run(c.video.Name, func(t *testing.T) {
			vid, err := Open(testcorpus.Path(t, c.video), OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer vid.Close()
			extra := vid.stream.CodecParameters().ExtraData()
			h := newH264Reorder(extra)
			safe, n := 0, 0
			var sps []byte
			err = vid.readPackets(func(p *astiav.Packet) error {
				b := packetBytes(p)
				eachNAL(b, h.lenSize, func(nal []byte) bool {
					if nal[0]&0x1f == 7 && sps == nil {
						sps = append([]byte(nil), nal...)
					}
					return true
				})
				if h.safe(b) {
					safe++
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: n, false: 0}[c.safe]; safe != want {
				t.Fatalf("%d of %d packets safe to drop, want %d (lenSize %d, SPS seen %v)", safe, n, want, h.lenSize, h.seen)
			}
			if sps == nil {
				eachNAL(extra, 0, func(nal []byte) bool { sps = nal; return nal[0]&0x1f != 7 })
				if h.lenSize > 0 {
					sps = extra[8 : 8+(int(extra[6])<<8|int(extra[7]))]
				}
			}
			reorder, ok, err := h264ReorderFrames(sps)
			if err != nil || ok != c.safe || (ok && reorder != 2) {
				t.Fatalf("SPS %x: reorder %d, stated %v, %v", sps, reorder, ok, err)
			}
			if _, _, err := h264ReorderFrames(sps[:len(sps)/2]); err == nil {
				t.Fatalf("SPS cut to %x read without error", sps[:len(sps)/2])
			}
		})
	}
}

// MPEG-4 packed B-frames are found from the DivX user data Xvid writes, and
// such a stream is numbered by packet whatever its timestamps (Matroska's are
// made up by the remux); the N-VOPs the AVI flags key are not taken for
// keyframes: one GOP per I-frame the decoder sees. FFmpeg's own MPEG-4 is
// not packed.
func TestMPEG4Packed(t *testing.T) {
	for _, c := range []struct {
		video  testcorpus.Video
		packed bool
	}{{testcorpus.MPEG4Packed, true}, {testcorpus.MPEG4PackedMKV, true}, {testcorpus.Get("mpeg4_avi"), false}} {
		t.Run(c.video.Name, func(t *testing.T) {
			path := testcorpus.Path(t, c.video)
			vid, err := Open(path, OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer vid.Close()
			x, err := vid.Scan(0)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type",
				"-of", "csv=p=0", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			iframes := strings.Count(string(out), "I")
			if x.packed != c.packed || (c.packed && x.Trusted) || (!x.Trusted && len(x.keyOrds) != iframes) {
				t.Fatalf("packed %v (want %v), trusted %v, keyframes at %v (%d I-frames decoded)", x.packed, c.packed, x.Trusted, x.keyOrds, iframes)
			}
		})
	}
}
