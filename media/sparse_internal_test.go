package media

import (
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
