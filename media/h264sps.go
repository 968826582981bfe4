package media

import "errors"

// h264Reorder guards H.264 sparse decoding. Where an SPS has no VUI
// bitstream_restriction (so no max_num_reorder_frames), FFmpeg's decoder
// learns how deep pictures are reordered from the picture order counts of
// the pictures it decodes ("Increasing reorder buffer"), and a picture that
// comes in behind one already output is not output at all. Dropping
// unwanted pictures changes what it learns from and when, so which picture
// is lost could change: a packet may be dropped only while every SPS seen
// (extradata, then in-band) states the reorder depth, which FFmpeg then
// takes as it is.
type h264Reorder struct {
	lenSize int  // bytes of the NAL length prefix (avcC); 0: Annex B start codes
	seen    bool // an SPS was read
	unknown bool // an SPS without the restriction, or one that could not be read, was seen
}

// newH264Reorder reads the NAL length size and the SPS from the stream's
// extradata (an avcC record, or Annex B NAL units).
func newH264Reorder(extra []byte) *h264Reorder {
	h := &h264Reorder{}
	if len(extra) >= 7 && extra[0] == 1 {
		h.lenSize = int(extra[4]&3) + 1
		h.readAvcC(extra)
		return h
	}
	eachNAL(extra, 0, func(nal []byte) bool { h.nal(nal); return true })
	return h
}

// readAvcC reads the SPS NAL units of an avcC record.
func (h *h264Reorder) readAvcC(b []byte) {
	n, i := int(b[5]&0x1f), 6
	for k := 0; k < n && i+2 <= len(b); k++ {
		l := int(b[i])<<8 | int(b[i+1])
		i += 2
		if i+l > len(b) {
			h.unknown = true
			return
		}
		h.nal(b[i : i+l])
		i += l
	}
}

// nal notes an SPS NAL unit (type 7).
func (h *h264Reorder) nal(nal []byte) {
	if len(nal) == 0 || nal[0]&0x1f != 7 {
		return
	}
	h.seen = true
	if _, ok, err := h264ReorderFrames(nal); err != nil || !ok {
		h.unknown = true
	}
}

// safe reads the packet's SPS, if any, and tells whether every SPS so far
// states the reorder depth; false too when the packet cannot be parsed.
func (h *h264Reorder) safe(pkt []byte) bool {
	ok := eachNAL(pkt, h.lenSize, func(nal []byte) bool { h.nal(nal); return true })
	return ok && h.seen && !h.unknown
}

var errSPS = errors.New("h264: SPS cut short")

// h264ReorderFrames reads an SPS NAL unit (header included) to its VUI's
// bitstream restriction: max_num_reorder_frames, and ok false when the SPS
// has no restriction (or no VUI).
func h264ReorderFrames(nal []byte) (reorder int, ok bool, err error) {
	r := &rbspReader{b: unescapeRBSP(nal)}
	r.skip(8) // NAL header
	profile := r.u(8)
	r.skip(16) // constraint flags, level_idc
	r.ue()     // seq_parameter_set_id
	if highProfile(profile) {
		r.chromaAndScaling()
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue()
	case 1:
		r.skip(1)
		r.se()
		r.se()
		for n := r.ue(); n > 0 && !r.bad; n-- {
			r.se()
		}
	}
	r.ue()           // max_num_ref_frames
	r.skip(1)        // gaps_in_frame_num_value_allowed_flag
	r.ue()           // pic_width_in_mbs_minus1
	r.ue()           // pic_height_in_map_units_minus1
	if r.u(1) == 0 { // frame_mbs_only_flag
		r.skip(1)
	}
	r.skip(1)        // direct_8x8_inference_flag
	if r.u(1) == 1 { // frame_cropping_flag
		r.ue()
		r.ue()
		r.ue()
		r.ue()
	}
	if r.u(1) == 0 { // vui_parameters_present_flag
		return 0, false, r.err()
	}
	return r.vuiReorder()
}

// highProfile tells the profiles whose SPS carries chroma format, bit depths
// and scaling matrices.
func highProfile(p int) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// chromaAndScaling reads the high profiles' chroma format, bit depths and
// scaling lists.
func (r *rbspReader) chromaAndScaling() {
	lists := 8
	if r.ue() == 3 { // chroma_format_idc
		r.skip(1)
		lists = 12
	}
	r.ue()
	r.ue()
	r.skip(1)
	if r.u(1) == 0 { // seq_scaling_matrix_present_flag
		return
	}
	for i := 0; i < lists && !r.bad; i++ {
		if r.u(1) == 0 {
			continue
		}
		size := 16
		if i >= 6 {
			size = 64
		}
		last, next := 8, 8
		for j := 0; j < size && next != 0 && !r.bad; j++ {
			next = (last + r.se() + 256) % 256
			if next != 0 {
				last = next
			}
		}
	}
}

// vuiReorder reads the VUI to bitstream_restriction_flag and, when set, to
// max_num_reorder_frames.
func (r *rbspReader) vuiReorder() (int, bool, error) {
	if r.u(1) == 1 && r.u(8) == 255 { // aspect_ratio_info_present_flag, aspect_ratio_idc
		r.skip(32)
	}
	if r.u(1) == 1 { // overscan_info_present_flag
		r.skip(1)
	}
	if r.u(1) == 1 { // video_signal_type_present_flag
		r.skip(4)
		if r.u(1) == 1 {
			r.skip(24)
		}
	}
	if r.u(1) == 1 { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if r.u(1) == 1 { // timing_info_present_flag
		r.skip(65)
	}
	nal := r.u(1) == 1
	if nal {
		r.hrd()
	}
	vcl := r.u(1) == 1
	if vcl {
		r.hrd()
	}
	if nal || vcl {
		r.skip(1) // low_delay_hrd_flag
	}
	r.skip(1)        // pic_struct_present_flag
	if r.u(1) == 0 { // bitstream_restriction_flag
		return 0, false, r.err()
	}
	r.skip(1) // motion_vectors_over_pic_boundaries_flag
	r.ue()
	r.ue()
	r.ue()
	r.ue()
	reorder := r.ue()
	r.ue() // max_dec_frame_buffering
	if err := r.err(); err != nil {
		return 0, false, err
	}
	return reorder, true, nil
}

// hrd reads hrd_parameters().
func (r *rbspReader) hrd() {
	n := r.ue() + 1 // cpb_cnt_minus1
	if n > 32 {
		r.bad = true
		return
	}
	r.skip(8)
	for ; n > 0; n-- {
		r.ue()
		r.ue()
		r.skip(1)
	}
	r.skip(20)
}

// rbspReader reads bits most significant first; reading past the end sets bad.
type rbspReader struct {
	b   []byte
	n   int
	bad bool
}

func (r *rbspReader) err() error {
	if r.bad {
		return errSPS
	}
	return nil
}

func (r *rbspReader) u(k int) int {
	v := 0
	for ; k > 0; k-- {
		if r.n >= 8*len(r.b) {
			r.bad = true
			return 0
		}
		v = v<<1 | int(r.b[r.n/8]>>(7-r.n%8))&1
		r.n++
	}
	return v
}

func (r *rbspReader) skip(k int) {
	if r.n += k; r.n > 8*len(r.b) {
		r.bad = true
	}
}

// ue reads an unsigned Exp-Golomb code (up to 31 leading zeros).
func (r *rbspReader) ue() int {
	z := 0
	for r.u(1) == 0 {
		if z++; z > 31 || r.bad {
			r.bad = true
			return 0
		}
	}
	return 1<<z - 1 + r.u(z)
}

func (r *rbspReader) se() int {
	k := r.ue()
	if k%2 == 1 {
		return (k + 1) / 2
	}
	return -k / 2
}

// unescapeRBSP drops the emulation prevention bytes (00 00 03 -> 00 00).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}
