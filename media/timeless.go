package media

import "github.com/asticode/go-astiav"

// timeless makes up timestamps for packets that have neither PTS nor DTS, as
// those of a raw elementary stream (.h264, .hevc: the demuxer gives none). The
// ffmpeg CLI invents them from the frame rate; so does vpipe: a packet without
// timestamps gets the previous packet's decode timestamp plus one frame
// duration (the packet's, which the parser derives from the stream's frame rate,
// else 1/frame rate in the time base), the first one 0. Such a stream has no
// trusted PTS (missing ones), so frames are numbered by packet, GOP by GOP
// (gopCounter), decoding from the start; the made-up value only gives each
// frame its PTS and time: frame i of a stream without any timestamps is at
// i / frame rate seconds.
type timeless struct {
	last  int64 // the previous packet's decode timestamp; NoPtsValue before the first
	frame int64 // one frame's duration in the time base, when the packet gives none
}

func (v *Video) newTimeless() *timeless {
	t := &timeless{last: astiav.NoPtsValue, frame: 1}
	tb := v.stream.TimeBase()
	r := v.stream.AvgFrameRate()
	if r.Num() <= 0 || r.Den() <= 0 {
		r = v.stream.RFrameRate()
	}
	if r.Num() > 0 && r.Den() > 0 && tb.Num() > 0 && tb.Den() > 0 {
		// One frame is den/num seconds, tb.Den/tb.Num ticks a second.
		if d := int64(r.Den()) * int64(tb.Den()) / (int64(r.Num()) * int64(tb.Num())); d > 0 {
			t.frame = d
		}
	}
	return t
}

// seen records a packet that has timestamps.
func (t *timeless) seen(pts, dts int64) {
	if dts != astiav.NoPtsValue {
		t.last = dts
	} else {
		t.last = pts
	}
}

// next makes up the timestamp of a packet without any: never negative, so the
// packet is a frame (as Decode counts it: decode.go tags every packet without
// timestamps).
func (t *timeless) next(dur int64) int64 {
	if dur <= 0 {
		dur = t.frame
	}
	ts := int64(0)
	if t.last != astiav.NoPtsValue {
		ts = t.last + dur
	}
	if ts < 0 {
		ts = 0
	}
	t.last = ts
	return ts
}
