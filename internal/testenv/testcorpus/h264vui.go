package testcorpus

import (
	"bytes"
	"fmt"
	"os"
)

// H.264 streams whose SPS has no VUI bitstream_restriction (so no
// max_num_reorder_frames): FFmpeg then learns how deep pictures are reordered
// from the picture order counts it sees ("Increasing reorder buffer"). x264
// always writes the restriction and Debian's FFmpeg has no other software
// H.264 encoder, so these clips are x264's with the restriction cut out of
// every SPS afterwards (stripRestriction): bitstream_restriction_flag set to
// 0 and the SPS ended there. This is test support's own SPS reader, written
// apart from media's, so that one checks the other.

// NoReorderInfo is h264_bframes (3 B-frames, pyramid) in MP4 without the
// restriction (the SPS in the avcC record).
var NoReorderInfo = Video{Name: "h264_noreorder", File: "h264_noreorder.mp4", Frames: 75, Exact: true, Edit: "strip-restriction", Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "{out}"))}}

// NoReorderInfoRaw is the same as a raw stream (in-band SPS, frames numbered
// by packet).
var NoReorderInfoRaw = Video{Name: "h264_noreorder_raw", File: "h264_noreorder.h264", Frames: 75, Exact: true, Edit: "strip-restriction", Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "h264", "{out}"))}}

// edits are the changes a recipe can make to its last step's output, by name
// (the name is part of the cache key).
var edits = map[string]func(path string) error{"strip-restriction": stripRestriction}

// stripRestriction rewrites, in place and at the same length, every H.264 SPS
// of the file: those of MP4 avcC records, else those after Annex B start
// codes. The SPS is shorter after; the bytes left over are zeros (trailing
// zeros a NAL unit parser drops). It fails when it finds no SPS to change.
func stripRestriction(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spss [][]byte
	if i := bytes.Index(b, []byte("avcC")); i >= 0 {
		spss = avcCSPS(b[i+4:])
	} else {
		spss = annexBSPS(b)
	}
	n := 0
	for _, sps := range spss {
		out, changed, err := noRestriction(sps)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if changed {
			copy(sps, out)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no SPS with a bitstream restriction", path)
	}
	return os.WriteFile(path, b, 0o644)
}

// avcCSPS are the SPS NAL units of an avcC record's body.
func avcCSPS(b []byte) [][]byte {
	if len(b) < 6 {
		return nil
	}
	var out [][]byte
	n, i := int(b[5]&0x1f), 6
	for k := 0; k < n && i+2 <= len(b); k++ {
		l := int(b[i])<<8 | int(b[i+1])
		i += 2
		if i+l > len(b) {
			break
		}
		out = append(out, b[i:i+l])
		i += l
	}
	return out
}

// annexBSPS are the SPS NAL units (type 7) after 00 00 01 start codes, each
// up to the next start code.
func annexBSPS(b []byte) [][]byte {
	var out [][]byte
	sc := []byte{0, 0, 1}
	for i := bytes.Index(b, sc); i >= 0; {
		start := i + 3
		j := bytes.Index(b[start:], sc)
		end := len(b)
		if j >= 0 {
			end = start + j
		}
		if start < len(b) && b[start]&0x1f == 7 {
			out = append(out, b[start:end])
		}
		if j < 0 {
			break
		}
		i = end
	}
	return out
}

// noRestriction returns sps (a NAL unit, header included) with the VUI's
// bitstream_restriction_flag 0 and nothing after it, at sps's length (zero
// padded); changed false when it had no restriction.
func noRestriction(sps []byte) (out []byte, changed bool, err error) {
	rbsp := unescape(sps)
	r := &bits{b: rbsp}
	pos, err := restrictionFlagPos(r)
	if err != nil {
		return nil, false, err
	}
	if pos < 0 || r.bit(pos) == 0 {
		return nil, false, nil
	}
	w := &bits{b: make([]byte, len(rbsp))}
	for i := 0; i < pos; i++ {
		w.put(r.bit(i))
	}
	w.put(0) // bitstream_restriction_flag
	w.put(1) // rbsp_stop_one_bit, then zeros to the byte
	body := escape(w.b[:(w.n+7)/8])
	if len(body) > len(sps) {
		return nil, false, fmt.Errorf("SPS grew from %d to %d bytes", len(sps), len(body))
	}
	out = make([]byte, len(sps))
	copy(out, body)
	return out, true, nil
}

// restrictionFlagPos reads an SPS up to its bitstream_restriction_flag and
// returns that bit's position in the RBSP (-1: no VUI). Streams with scaling
// matrices are not handled (x264 writes none by default).
func restrictionFlagPos(r *bits) (int, error) {
	r.u(8) // NAL header
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		if r.ue() == 3 { // chroma_format_idc
			r.u(1)
		}
		r.ue()
		r.ue()
		r.u(1)
		if r.u(1) == 1 {
			return 0, fmt.Errorf("SPS with scaling matrices: not handled")
		}
	}
	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue()
	case 1:
		r.u(1)
		r.se()
		r.se()
		for n := r.ue(); n > 0; n-- {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1)
	r.ue()
	r.ue()
	if r.u(1) == 0 { // frame_mbs_only_flag
		r.u(1)
	}
	r.u(1)
	if r.u(1) == 1 { // frame_cropping_flag
		r.ue()
		r.ue()
		r.ue()
		r.ue()
	}
	if r.u(1) == 0 { // vui_parameters_present_flag
		return -1, nil
	}
	return vuiRestrictionPos(r)
}

// vuiRestrictionPos reads the VUI up to its bitstream_restriction_flag.
func vuiRestrictionPos(r *bits) (int, error) {
	if r.u(1) == 1 && r.u(8) == 255 { // aspect_ratio_info_present_flag, aspect_ratio_idc
		r.u(32)
	}
	if r.u(1) == 1 { // overscan_info_present_flag
		r.u(1)
	}
	if r.u(1) == 1 { // video_signal_type_present_flag
		r.u(4)
		if r.u(1) == 1 {
			r.u(24)
		}
	}
	if r.u(1) == 1 { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if r.u(1) == 1 { // timing_info_present_flag
		r.u(32)
		r.u(32)
		r.u(1)
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
		r.u(1)
	}
	r.u(1) // pic_struct_present_flag
	if r.n >= 8*len(r.b) {
		return 0, fmt.Errorf("SPS ends inside its VUI")
	}
	return r.n, nil
}

// bits reads and writes a bit string most significant bit first; n is the
// position.
type bits struct {
	b []byte
	n int
}

func (r *bits) bit(i int) int {
	if i/8 >= len(r.b) {
		return 0
	}
	return int(r.b[i/8]>>(7-i%8)) & 1
}

func (r *bits) u(n int) int {
	v := 0
	for ; n > 0; n-- {
		v = v<<1 | r.bit(r.n)
		r.n++
	}
	return v
}

func (r *bits) ue() int {
	z := 0
	for r.u(1) == 0 && z < 32 {
		z++
	}
	return 1<<z - 1 + r.u(z)
}

func (r *bits) se() int {
	k := r.ue()
	if k%2 == 1 {
		return (k + 1) / 2
	}
	return -k / 2
}

func (r *bits) hrd() {
	n := r.ue() + 1 // cpb_cnt_minus1
	r.u(8)
	for ; n > 0; n-- {
		r.ue()
		r.ue()
		r.u(1)
	}
	r.u(20)
}

func (r *bits) put(v int) {
	if v != 0 {
		r.b[r.n/8] |= 0x80 >> (r.n % 8)
	}
	r.n++
}

// unescape drops the emulation prevention bytes (00 00 03 -> 00 00).
func unescape(b []byte) []byte {
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

// escape inserts emulation prevention bytes where 00 00 is followed by 00-03.
func escape(b []byte) []byte {
	out := make([]byte, 0, len(b)+4)
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
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
