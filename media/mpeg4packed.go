package media

import "bytes"

// MPEG-4 part 2 "packed bitstream" (DivX 5, Xvid in AVI): AVI holds one
// frame per chunk in decode order with no reordering delay, so these
// encoders put a B-frame into the chunk of the reference frame before it and
// send a placeholder chunk (an N-VOP, a VOP with nothing coded) after. They
// say so in user data: "DivX503b1393p", the last letter p. FFmpeg's decoder
// then keeps the B-frame of a chunk and decodes it during the next call, so
// a B-frame comes out with the next packet's timestamp (or tag) and under
// the next packet's skip_frame setting. vpipe therefore numbers the frames of
// such a stream by packet, as the decoder emits them (Index.Trusted false),
// and lets nothing be dropped (sparse.go).

var (
	userDataStart = []byte{0, 0, 1, 0xb2}
	vopStart      = []byte{0, 0, 1, 0xb6}
)

// divxPacked tells whether b holds user data announcing packed B-frames,
// read as FFmpeg's decoder reads it: "DivX", a version, "Build" or "b", a
// build number, then "p".
func divxPacked(b []byte) bool {
	for i := bytes.Index(b, userDataStart); i >= 0; {
		u := b[i+4:]
		if end := bytes.Index(u, []byte{0, 0}); end >= 0 {
			u = u[:end]
		}
		if packedUserData(u) {
			return true
		}
		j := bytes.Index(b[i+4:], userDataStart)
		if j < 0 {
			break
		}
		i += 4 + j
	}
	return false
}

// packedUserData matches DivX<digits>(Build|b)<digits>p.
func packedUserData(u []byte) bool {
	u, ok := bytes.CutPrefix(u, []byte("DivX"))
	if !ok {
		return false
	}
	if u, ok = digits(u); !ok {
		return false
	}
	if rest, cut := bytes.CutPrefix(u, []byte("Build")); cut {
		u = rest
	} else if rest, cut := bytes.CutPrefix(u, []byte("b")); cut {
		u = rest
	} else {
		return false
	}
	if u, ok = digits(u); !ok {
		return false
	}
	return len(u) > 0 && u[0] == 'p'
}

// digits cuts the leading decimal digits of u; ok false when there are none.
func digits(u []byte) ([]byte, bool) {
	n := 0
	for n < len(u) && u[n] >= '0' && u[n] <= '9' {
		n++
	}
	return u[n:], n > 0
}

// mpeg4Keys tells which MPEG-4 packets hold a keyframe, from the payload:
// an I-VOP that is coded. Xvid through FFmpeg flags key the N-VOP that
// follows a packed I-frame (in AVI, and so in whatever it is copied to): an
// I-VOP with nothing coded. A GOP starting there would cut the I-frame's GOP
// short (gopCounter). Whether a VOP is coded is read past its time
// increment, whose width the VOL header gives (timeBits).
type mpeg4Keys struct {
	timeBits int // bits of vop_time_increment; 0 until a VOL header is read
}

// vol reads vop_time_increment_resolution from the VOL headers in b.
func (m *mpeg4Keys) vol(b []byte) {
	for i := 0; i+4 < len(b); i += 3 {
		k := bytes.Index(b[i:], []byte{0, 0, 1})
		if k < 0 {
			return
		}
		if i += k; i+4 < len(b) && b[i+3]&0xf0 == 0x20 {
			if res := volTimeResolution(b[i+4:]); res > 0 {
				m.timeBits = max(bitsFor(res-1), 1)
			}
		}
	}
}

// volTimeResolution reads a VOL header (ISO/IEC 14496-2 6.2.3) after its
// start code to vop_time_increment_resolution; 0 when it cannot.
func volTimeResolution(b []byte) int {
	r := &rbspReader{b: b}
	r.skip(9) // random_accessible_vol, video_object_type_indication
	verid := 1
	if r.u(1) == 1 { // is_object_layer_identifier
		verid = r.u(4)
		r.skip(3)
	}
	if r.u(4) == 15 { // aspect_ratio_info: extended PAR
		r.skip(16)
	}
	if r.u(1) == 1 { // vol_control_parameters
		r.skip(3)
		if r.u(1) == 1 { // vbv_parameters
			r.skip(79)
		}
	}
	if r.u(2) == 3 && verid != 1 { // video_object_layer_shape: grayscale
		r.skip(4)
	}
	r.skip(1)
	res := r.u(16)
	if r.u(1) != 1 || r.bad { // marker_bit
		return 0
	}
	return res
}

// bitsFor is how many bits hold n (at least 0).
func bitsFor(n int) int {
	k := 0
	for ; n > 0; n >>= 1 {
		k++
	}
	return k
}

// notKey tells that a packet holds no keyframe: its first VOP is coded as P,
// B or S, or (the VOL read) it is not coded at all. A packet without a VOP
// start code (damaged, or headers only) is left as flagged.
func (m *mpeg4Keys) notKey(b []byte) bool {
	i := bytes.Index(b, vopStart)
	if i < 0 || i+4 >= len(b) {
		return false
	}
	r := &rbspReader{b: b[i+4:]}
	if r.u(2) != 0 { // vop_coding_type: 0 is I
		return true
	}
	if m.timeBits == 0 {
		return false
	}
	for r.u(1) == 1 && !r.bad { // modulo_time_base
	}
	r.skip(1 + m.timeBits + 1)   // marker, vop_time_increment, marker
	return r.u(1) == 0 && !r.bad // vop_coded
}
