package media

import (
	"fmt"
	"sort"

	"github.com/asticode/go-astiav"
)

// Sparse decoding (issue 19): a frame that is not wanted and that no other
// frame references need not be decoded. Before each packet goes to the
// decoder, Decode tells it whether it may drop that packet's frame if the
// bitstream says nothing refers to it (skip_frame = AVDISCARD_NONREF, the
// CLI's -skip_frame noref; frame threads copy the setting with each packet):
// H.264 pictures with nal_ref_idc 0, HEVC sub-layer non-reference pictures,
// MPEG-1/2 and MPEG-4 part 2 B-pictures. A reference frame is decoded
// whether wanted or not, so every wanted frame is decoded from the same
// references as when everything is, and comes out with the same pixels.
//
// Numbering does not move: frames numbered by PTS (a trusted map) take their
// index from their own timestamp, whatever was dropped around them. Frames
// numbered by packet (gopCounter) are counted as they come out of their GOP,
// so a dropped frame would shift the ones after it; there only the packets of
// a GOP that holds no wanted frame may be dropped, and that GOP is not
// numbered (gopCounter.pass), so its missing frames are not taken for lost
// ones. Wanted frames are never dropped, so the salvage checks, which look
// only at wanted frames and at damage the decoder reports, see what they saw.
//
// Everything is decoded where references cannot be known: another decoder
// than those below (VP8/VP9, AV1, intra-only codecs...), keyframes-only
// decoding (which skips more already), an HEVC stream whose sub-layers make a
// "non-reference" picture a reference after all (hevcLayers), a packet that
// cannot be parsed, or DecodeOptions.DecodeAll. Nor is anything dropped
// where the decoder's output could depend on what it decoded: an H.264 SPS
// without the reorder depth (h264Reorder), MPEG-4 part 2 packed B-frames
// (Index.packed: a B-frame stored in one packet is decoded during the next
// packet's call, under that packet's setting).

// nonRefDecoders are the FFmpeg decoders whose AVDISCARD_NONREF drops only
// pictures that no other picture refers to, judged from the bitstream: h264
// (nal_ref_idc 0), mpeg1video, mpeg2video and mpeg4 (B-pictures, never
// references in these codecs); hevc with the sub-layer guard (hevcLayers).
var nonRefDecoders = map[string]bool{"h264": true, "hevc": true, "mpeg1video": true, "mpeg2video": true, "mpeg4": true}

// sparse is what one decode run knows to let its decoder drop frames.
type sparse struct {
	hevc *hevcLayers  // HEVC: which packets are safe to drop
	h264 *h264Reorder // H.264: while every SPS states the reorder depth (h264sps.go)
	on   bool         // the decoder is set to drop non-reference frames now
}

// newSparse decides whether the run's decoder may drop frames at all; nil
// (and why not) when everything is decoded.
func (r *runState) newSparse(decoder string) (*sparse, string) {
	switch {
	case r.o.DecodeAll:
		return nil, "asked to decode every frame"
	case r.skipping:
		return nil, "keyframes only: the decoder already drops every other frame"
	case !nonRefDecoders[decoder]:
		return nil, fmt.Sprintf("the %s decoder: which frames are references is not known", decoder)
	}
	sp := &sparse{}
	extra := r.v.stream.CodecParameters().ExtraData()
	switch decoder {
	case "hevc":
		sp.hevc = newHEVCLayers(extra)
	case "h264":
		sp.h264 = newH264Reorder(extra)
		if sp.h264.unknown {
			return nil, "the H.264 SPS does not state the reorder depth (no VUI bitstream restriction): the decoder learns it from the frames it decodes"
		}
	case "mpeg4":
		if r.x.packed {
			return nil, "MPEG-4 packed B-frames: a B-frame is decoded with the packet after its own"
		}
	}
	return sp, ""
}

// mayDrop tells the decoder, before packet p (tagged with its decode position
// when numbered by packet, else -1) goes to it, whether it may drop the
// packet's frame: not wanted, and (HEVC) no higher sub-layer may refer to it.
func (r *runState) mayDrop(p *astiav.Packet, tag int64) {
	r.v.stats.Sent++
	sp := r.sp
	if sp == nil {
		return
	}
	drop := r.unwanted(p, tag)
	if sp.hevc != nil {
		drop = sp.hevc.safe(packetBytes(p)) && drop // reads every packet: an SPS may come in-band
	}
	if sp.h264 != nil {
		drop = sp.h264.safe(packetBytes(p)) && drop // likewise
	}
	if drop {
		r.v.stats.Droppable++
	}
	if drop != sp.on {
		skipNonRef(r.cc, drop)
		sp.on = drop
	}
}

// unwanted tells whether no wanted frame can come from packet p.
func (r *runState) unwanted(p *astiav.Packet, tag int64) bool {
	if !r.x.Trusted {
		return tag >= 0 && r.gops.passed(int(tag))
	}
	pts := p.Pts()
	if pts == astiav.NoPtsValue {
		return false
	}
	if pts < 0 {
		return true // not a frame (numberByPTS)
	}
	i, ok := r.x.Lookup(pts)
	if !ok {
		return false // a frame the map does not place: decode it, as before
	}
	rest := r.want[r.next:]
	k := sort.SearchInts(rest, i)
	return k == len(rest) || rest[k] != i
}

// hevcLayers guards HEVC's non-reference NAL types. FFmpeg drops TRAIL_N,
// TSA_N, STSA_N, RADL_N, RASL_N (and the reserved N types) at
// AVDISCARD_NONREF, but those are sub-layer non-reference pictures: a picture
// of a higher temporal sub-layer may still refer to one. A packet may be
// dropped only when each such picture in it is in the highest sub-layer the
// SPS allows, to which nothing else can refer.
type hevcLayers struct {
	lenSize int // bytes of the NAL length prefix (hvcC); 0: Annex B start codes
	top     int // highest TemporalId (sps_max_sub_layers_minus1); -1 until an SPS is read
}

// newHEVCLayers reads the NAL length size and the SPS from the stream's
// extradata (an hvcC record, or Annex B NAL units).
func newHEVCLayers(extra []byte) *hevcLayers {
	h := &hevcLayers{top: -1}
	if len(extra) >= 23 && extra[0] == 1 {
		h.lenSize = int(extra[21]&3) + 1
		h.readHvcC(extra)
		return h
	}
	eachNAL(extra, 0, func(nal []byte) bool { h.sps(nal); return true })
	return h
}

// readHvcC reads the SPS NAL units of an hvcC record's arrays.
func (h *hevcLayers) readHvcC(b []byte) {
	arrays, i := int(b[22]), 23
	for a := 0; a < arrays && i+3 <= len(b); a++ {
		n := int(b[i+1])<<8 | int(b[i+2])
		i += 3
		for k := 0; k < n && i+2 <= len(b); k++ {
			l := int(b[i])<<8 | int(b[i+1])
			i += 2
			if i+l > len(b) {
				return
			}
			h.sps(b[i : i+l])
			i += l
		}
	}
}

// sps takes sps_max_sub_layers_minus1 from an SPS NAL unit (type 33): the
// 3 bits after the 2-byte header's sps_video_parameter_set_id.
func (h *hevcLayers) sps(nal []byte) {
	if len(nal) >= 3 && (nal[0]>>1)&0x3f == 33 {
		h.top = int(nal[2]>>1) & 7
	}
}

// safe tells whether every non-reference picture of the packet is in the
// highest sub-layer; false when the packet cannot be parsed or no SPS is known.
func (h *hevcLayers) safe(pkt []byte) bool {
	ok := eachNAL(pkt, h.lenSize, func(nal []byte) bool {
		if len(nal) < 2 {
			return false
		}
		h.sps(nal)
		typ, tid := int(nal[0]>>1)&0x3f, int(nal[1]&7)-1
		if typ <= 14 && typ%2 == 0 { // VCL, sub-layer non-reference
			return h.top >= 0 && tid == h.top
		}
		return true
	})
	return ok && h.top >= 0
}

// eachNAL calls fn with each NAL unit of b, length-prefixed by lenSize bytes
// or, when lenSize is 0, after Annex B start codes; it stops at the first
// false fn returns. It returns false for that, or for a length past the end.
func eachNAL(b []byte, lenSize int, fn func(nal []byte) bool) bool {
	if lenSize == 0 {
		return eachAnnexB(b, fn)
	}
	for i := 0; i < len(b); {
		if i+lenSize > len(b) {
			return false
		}
		n := 0
		for _, c := range b[i : i+lenSize] {
			n = n<<8 | int(c)
		}
		i += lenSize
		if n == 0 || i+n > len(b) {
			return false
		}
		if !fn(b[i : i+n]) {
			return false
		}
		i += n
	}
	return true
}

// eachAnnexB is eachNAL over 00 00 01 start codes; the zero bytes before the
// next start code are left on a unit's end (only its header is read).
func eachAnnexB(b []byte, fn func(nal []byte) bool) bool {
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 && !fn(b[start:i]) {
			return false
		}
		i += 2
		start = i + 1
	}
	if start < 0 || start >= len(b) {
		return false
	}
	return fn(b[start:])
}
