package media

// Seeking a stream numbered by packet (Index.Trusted false), for raw
// elementary streams (.h264, .hevc, .m2v), which have no timestamps to seek
// by: Decode seeks by byte to the keyframe of the GOP before the first wanted
// frame's and numbers packets from that GOP's decode position (gopCounter).
// One GOP early, so that the wanted GOP's leading pictures (open GOP: shown
// before their keyframe, predicted from the GOP before) have their references;
// the GOP it starts in may lose frames (its own leading pictures cannot be
// decoded), which leaves only its own numbers uncertain, and none of them is
// wanted.
//
// Every packet read after the seek must be at the byte position the scan saw
// at that decode position, else the numbers would shift: Decode then starts
// again from the first frame, as it does when the GOP a wanted frame is in
// cannot be numbered before anything was emitted.

// gopSeek tells whether the format's frames, when numbered by packet, may be
// reached by a byte seek: the raw elementary stream demuxers, whose packets
// after a byte seek are the parser's access units, as in the scan.
func (v *Video) gopSeek() bool {
	switch v.Info.Format {
	case "h264", "hevc", "mpegvideo":
		return true
	}
	return false
}

// gopSeekable tells whether Decode may seek an untrusted map.
func (x *Index) gopSeekable() bool {
	return !x.Trusted && len(x.pos) == len(x.PTS) && len(x.pos) > 0
}

// gopSeekPoint is where to start decoding for frame i of an untrusted map: the
// decode position of the keyframe of the GOP before i's and its byte position.
// ok is false when that is the first GOP (decode from the start).
func (x *Index) gopSeekPoint(i int) (d int, pos int64, ok bool) {
	if !x.gopSeekable() {
		return 0, 0, false
	}
	c := newGOPCounter(x.keyOrds, len(x.PTS))
	g := c.gop(i) - 1
	if g < 1 {
		return 0, 0, false
	}
	d = c.starts[g]
	if x.pos[d] < 0 {
		return 0, 0, false
	}
	return d, x.pos[d], true
}
