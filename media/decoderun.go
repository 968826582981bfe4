package media

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/asticode/go-astiav"
)

// runState is one decode run (decodeRun): where it started, the decoder, and
// how far it got through want. Each job of a run is one method: seek, open the
// decoder, number a frame (by PTS, or by packet with the GOP counter), salvage,
// decide to re-seek, and end the stream.
type runState struct {
	v    *Video
	ctx  context.Context
	x    *Index
	want []int
	o    DecodeOptions
	seek bool
	emit func(*Picture) error

	seeked   bool // a seek produced the start of this run
	startOrd int  // decode position of the first packet read (untrusted: a GOP seek)
	cc       *astiav.CodecContext
	f        *astiav.Frame
	skipping bool    // the decoder drops non-key frames
	sp       *sparse // the decoder may drop unwanted non-reference frames (sparse.go); nil: it decodes all

	next    int // position in want
	emitted int
	lostN   int // wanted frames this run reported lost
	salv    bool
	dt      *damageTracker
	gops    *gopCounter // numbers frames when PTS are not trusted
	// finishing: every wanted frame is out; closing the last one's GOP (untrusted)
	finishing   bool
	reseekAfter int // untrusted: seek again once a frame past this GOP comes out
	ord         int // decode position among packets with PTS >= 0 (untrusted mode)
}

// decodeRun decodes one segment: from a seek (or the first frame) until every
// frame of want is out, or until the next wanted frame is better reached by a
// new seek (errReseek). It returns how many frames of want it emitted.
func (v *Video) decodeRun(ctx context.Context, x *Index, want []int, o DecodeOptions, seek bool, emit func(*Picture) error) (int, error) {
	r := &runState{v: v, ctx: ctx, x: x, want: want, o: o, seek: seek, emit: emit, reseekAfter: -1}
	if err := r.seekStart(); err != nil {
		return 0, err
	}
	cc, err := r.openDecoder()
	if err != nil {
		return 0, err
	}
	defer cc.Free()
	r.cc = cc
	r.f = astiav.AllocFrame()
	defer r.f.Free()
	r.salv = v.salvaging(x, o)
	if r.salv {
		r.dt = newDamageTracker(x.salvage)
	}
	if !x.Trusted {
		r.gops = newGOPCounter(x.keyOrds, len(x.PTS))
		r.gops.cur = r.gops.gop(r.startOrd)
		if r.sp != nil {
			r.gops.pass(r.gops.cur, want)
		}
	}
	r.ord = r.startOrd
	return r.end(v.readPackets(r.packet))
}

// seekStart seeks to the keyframe before the first wanted frame, or rewinds
// to the first frame when it cannot.
func (r *runState) seekStart() error {
	v, x, want := r.v, r.x, r.want
	if r.seek && !x.Trusted && want[0] > 0 {
		// Numbered by packet: seek to a GOP's keyframe by byte (rawseek.go).
		if d, pos, ok := x.gopSeekPoint(want[0]); ok {
			v.fresh = false
			if err := v.fc.SeekFrame(-1, pos, astiav.NewSeekFlags(astiav.SeekFlagByte)); err == nil {
				r.seeked, r.startOrd = true, d
			}
		}
	}
	if r.seek && x.Trusted && want[0] > 0 {
		if k, ok := x.seekPoint(x.PTS[want[0]]); ok && k.pts > x.PTS[0] {
			// The keyframe's PTS: demuxers index by PTS (mov, after edit lists) or
			// DTS <= PTS; with BACKWARD either lands on this keyframe or an earlier one.
			var err error
			v.fresh = false
			if v.byteSeek() && k.pos >= 0 {
				// No index to seek by time (MPEG-TS/PS overshoot); the scan recorded
				// where the keyframe's packet starts.
				err = v.fc.SeekFrame(-1, k.pos, astiav.NewSeekFlags(astiav.SeekFlagByte))
			} else {
				err = v.fc.SeekFrame(v.stream.Index(), k.pts, astiav.NewSeekFlags(astiav.SeekFlagBackward))
			}
			r.seeked = err == nil
		}
	}
	if !r.seeked {
		return v.rewind()
	}
	return nil
}

// openDecoder opens a decoder for the run; the caller frees it.
func (r *runState) openDecoder() (*astiav.CodecContext, error) {
	v, x, o := r.v, r.x, r.o
	codec := astiav.FindDecoder(v.stream.CodecParameters().CodecID())
	if codec == nil {
		return nil, fmt.Errorf("%s: no decoder for codec %s", v.name, v.Info.Codec)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return nil, fmt.Errorf("%s: cannot allocate a decoder", v.name)
	}
	if err := v.stream.CodecParameters().ToCodecContext(cc); err != nil {
		cc.Free()
		return nil, fmt.Errorf("%s: decoder parameters: %w", v.name, err)
	}
	cc.SetTimeBase(v.stream.TimeBase())
	cc.SetThreadCount(o.Threads)
	if x.Trusted && !v.salvaging(x, o) {
		cc.SetThreadType(astiav.ThreadTypeFrame | astiav.ThreadTypeSlice)
	} else {
		// (Salvage: so that a damaged packet's error comes back with it, and
		// what follows it is known to be suspect.)
		// Numbering by packet needs a damaged packet's error to come back with that
		// packet, not threads later (gopCounter).
		cc.SetThreadType(astiav.ThreadTypeSlice)
	}
	r.skipping = o.KeyframesOnly && x.Trusted
	if r.skipping {
		skipNonKey(cc)
	}
	r.sp, v.stats.NoDrop = r.newSparse(codec.Name())
	if err := cc.Open(codec, nil); err != nil {
		cc.Free()
		return nil, fmt.Errorf("%s: open decoder %s: %w", v.name, v.Info.Codec, err)
	}
	return cc, nil
}

// lose reports a wanted frame lost (salvage).
func (r *runState) lose(i int, why string) {
	r.o.Lost(LostFrame{Index: i, Why: why})
	r.lostN++
}

// check fails the wanted frames the GOP counter could not number.
func (r *runState) check(bad []badRange) error {
	for _, b := range bad {
		if k := sort.SearchInts(r.want, b.first); k < len(r.want) && r.want[k] < b.end {
			if r.seeked && r.emitted == 0 {
				return errRestart
			}
			return &FrameError{Video: r.v.name, Index: r.want[k], First: b.first, End: b.end,
				Why: fmt.Sprintf("frames %d-%d cannot be numbered: %s (damaged?)", b.first, b.end-1, b.why)}
		}
	}
	return nil
}

// uncertain fails the next wanted frame when a lost packet of its GOP hides which frame it is.
func (r *runState) uncertain() error {
	gops, want, next := r.gops, r.want, r.next
	if gops == nil || r.finishing || gops.certain(want[next]) {
		return nil
	}
	if r.seeked && r.emitted == 0 {
		return errRestart
	}
	g := gops.gop(want[next])
	return &FrameError{Video: r.v.name, Index: want[next], First: want[next], End: gops.end(g), Why: fmt.Sprintf(
		"a packet of frames %d-%d produced no frame (damaged?), so which of them the decoder's frames are cannot be told",
		gops.starts[g], gops.end(g)-1)}
}

// take handles one decoded frame; it returns errStop when every wanted frame is out.
func (r *runState) take() error {
	defer r.f.Unref()
	r.v.stats.Decoded++
	var i int
	var ok bool
	var err error
	if r.x.Trusted {
		i, ok, err = r.numberByPTS()
	} else {
		i, ok, err = r.numberByPacket()
	}
	if !ok {
		return err
	}
	return r.deliver(i)
}

// numberByPTS gives the decoded frame its index from its PTS (a trusted map);
// ok false: the frame goes no further, and err is what take returns.
func (r *runState) numberByPTS() (i int, ok bool, err error) {
	x, f, want, next := r.x, r.f, r.want, r.next
	pts := frameTimestamp(f)
	if pts == astiav.NoPtsValue {
		if r.emitted == 0 && r.lostN == 0 && r.seek {
			return 0, false, errRestart
		}
		if r.salv {
			return 0, false, nil // no index to give it
		}
		return 0, false, &FrameError{Video: r.v.name, Index: want[next], Why: "decoder produced a frame without a timestamp"}
	}
	if pts < 0 {
		return 0, false, nil
	}
	if i, ok = x.Lookup(pts); !ok {
		if r.emitted == 0 && r.lostN == 0 && r.seek {
			return 0, false, errRestart
		}
		if r.salv {
			return 0, false, nil
		}
		return 0, false, &FrameError{Video: r.v.name, Index: want[next], Why: fmt.Sprintf("decoder produced PTS %d, which no packet had", pts)}
	}
	if r.salv {
		ok, err = r.salvageByPTS(i, pts)
		return i, ok, err
	}
	return i, true, nil
}

// salvageByPTS leaves out what cannot be vouched for (salvage.go), and reports
// the wanted frames the decoder skipped; ok: frame i is wanted and clean.
func (r *runState) salvageByPTS(i int, pts int64) (ok bool, err error) {
	x, want := r.x, r.want
	why := x.lostWhy(i)
	if why == "" {
		if why = frameDamage(r.f); why != "" {
			r.dt.mark(pts)
		} else if r.dt.tainted(pts) {
			why = "decoded after damage in its group of pictures (it may be predicted from damaged pixels)"
		}
	}
	for r.next < len(want) && want[r.next] < i {
		if r.seeked && r.emitted == 0 && r.lostN == 0 {
			return false, errRestart
		}
		r.lose(want[r.next], "not produced by the decoder (damaged?)")
		r.next++
	}
	if r.next == len(want) {
		return false, errStop
	}
	if want[r.next] != i {
		return false, nil
	}
	if why != "" {
		r.lose(i, why)
		r.next++
		if r.next == len(want) {
			return false, errStop
		}
		return false, r.ctx.Err()
	}
	return true, nil
}

// numberByPacket gives the decoded frame its index from the decode position
// its packet was tagged with (the GOP counter); ok as for numberByPTS.
func (r *runState) numberByPacket() (i int, ok bool, err error) {
	f, gops, want := r.f, r.gops, r.want
	// The tag the packet was sent with: its position in decode order.
	d := f.Pts()
	if d == astiav.NoPtsValue {
		return 0, false, &FrameError{Video: r.v.name, Index: want[min(r.next, len(want)-1)], Why: "the decoder dropped the packet tag of a frame"}
	}
	if d < 0 {
		return 0, false, nil // a packet with PTS < 0: not a frame
	}
	var bad []badRange
	i, ok, bad = gops.number(int(d), reorderDelay(r.cc))
	if err := r.check(bad); err != nil {
		return 0, false, err
	}
	if ok && r.reseekAfter >= 0 && gops.gop(i) > r.reseekAfter {
		return 0, false, errReseek // the last emitted frame's GOP closed whole
	}
	if !ok {
		if err := r.uncertain(); err != nil {
			return 0, false, err
		}
	}
	if r.finishing {
		if ok && gops.gop(i) > gops.gop(want[len(want)-1]) {
			return 0, false, errStop // the last wanted frame's GOP closed whole
		}
		return 0, false, nil
	}
	if !ok {
		return 0, false, nil
	}
	if r.salv && i == want[r.next] {
		if why := frameDamage(f); why != "" {
			r.lose(i, why)
			r.next++
			if r.next == len(want) {
				r.finishing = true
			}
			return 0, false, nil
		}
	}
	return i, true, nil
}

// deliver emits frame i when it is the next wanted one.
func (r *runState) deliver(i int) error {
	want := r.want
	switch {
	case i < want[r.next]:
		return nil
	case i > want[r.next]:
		if r.skipping {
			return errScrambled
		}
		if r.seeked && r.emitted == 0 {
			return errRestart
		}
		return &FrameError{Video: r.v.name, Index: want[r.next], Why: fmt.Sprintf("not produced by the decoder (it went on with frame %d)", i)}
	}
	pic, err := r.v.picture(r.f, r.x, i)
	if err != nil {
		return err
	}
	if err := r.emit(pic); err != nil {
		return err
	}
	r.emitted++
	if r.emitted == 1 && r.seeked {
		r.v.stats.Seeks++
		r.v.stats.Seeked = true
	}
	r.next++
	if r.next == len(want) {
		if r.gops != nil {
			r.finishing = true // go on until its GOP is known to be whole
			return nil
		}
		return errStop
	}
	if err := r.uncertain(); err != nil {
		return err
	}
	if err := r.reseek(i); err != nil {
		return err
	}
	return r.ctx.Err()
}

// reseek, after frame i went out, ends the run (errReseek) when the next
// wanted frame is better reached by a new seek.
func (r *runState) reseek(i int) error {
	x, want, next := r.x, r.want, r.next
	if r.seek && x.Trusted {
		// Is the next wanted frame far past a keyframe we have not reached?
		if k, ok := x.seekPoint(x.PTS[want[next]]); ok {
			if ki, _ := x.Lookup(k.pts); ki-i > reseekGap {
				return errReseek
			}
		}
	}
	if r.seek && !x.Trusted {
		// The same by GOP, once this frame's GOP is known whole (the next
		// frame numbered comes from a later one), as for the last wanted frame.
		if d, _, ok := x.gopSeekPoint(want[next]); ok && d-i > reseekGap {
			r.reseekAfter = r.gops.gop(i)
		}
	}
	return nil
}

// drain takes every frame the decoder has ready.
func (r *runState) drain() error {
	for {
		if err := r.cc.ReceiveFrame(r.f); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if r.salv && errors.Is(err, astiav.ErrInvaliddata) {
				return nil // a damaged frame: its index is reported as not produced
			}
			return fmt.Errorf("%s: decode: %w", r.v.name, err)
		}
		if err := r.take(); err != nil {
			return err
		}
	}
}

// packet sends one demuxed packet to the decoder and takes what comes out.
func (r *runState) packet(p *astiav.Packet) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	tag, err := r.tag(p)
	if err != nil {
		return err
	}
	r.mayDrop(p, tag)
	for {
		err := r.cc.SendPacket(p)
		switch {
		case err == nil:
			return r.drain()
		case errors.Is(err, astiav.ErrEagain):
			if err := r.drain(); err != nil {
				return err
			}
		case errors.Is(err, astiav.ErrInvaliddata):
			// A damaged packet: a wanted frame it held is reported as missing below.
			if r.dt != nil && r.gops == nil {
				r.dt.mark(p.Pts()) // what is decoded after it until the next keyframe is suspect
			}
			if r.gops != nil && tag >= 0 {
				r.gops.lose(int(tag))
				return r.uncertain()
			}
			return nil
		default:
			return fmt.Errorf("%s: decode: %w", r.v.name, err)
		}
	}
}

// tag, when frames are numbered by packet, tags the packet with its decode
// position: the decoder carries a packet's PTS to the frame it becomes,
// through reordering. -1: not tagged.
func (r *runState) tag(p *astiav.Packet) (int64, error) {
	tag := int64(-1)
	if r.gops == nil {
		return tag, nil
	}
	ts := p.Pts()
	if ts == astiav.NoPtsValue {
		ts = p.Dts()
	}
	if ts >= 0 || ts == astiav.NoPtsValue { // none at all: a frame all the same (timeless.go)
		if r.seeked && (r.ord >= len(r.x.pos) || p.Pos() != r.x.pos[r.ord]) {
			return tag, errRestart // not the packet the scan saw there: the numbers would shift
		}
		tag = int64(r.ord)
		r.gops.send(r.ord)
		r.ord++
	}
	p.SetPts(tag)
	return tag, nil
}

// end flushes the decoder at the end of the stream and tells how the run
// went, from err (what reading the packets returned).
func (r *runState) end(err error) (int, error) {
	want := r.want
	if err == nil && (r.next < len(want) || r.finishing) {
		if err = r.cc.SendPacket(nil); err == nil || errors.Is(err, astiav.ErrEof) {
			err = r.drain()
		}
		if err == nil && r.gops != nil {
			err = r.check(r.gops.finish())
		}
	}
	next := r.next
	switch {
	case errors.Is(err, errStop):
		return next, nil
	case err != nil:
		return next, err
	case next < len(want):
		if r.skipping {
			return next, errScrambled
		}
		if r.seeked && r.emitted == 0 && r.lostN == 0 {
			return next, errRestart
		}
		if r.salv {
			for _, i := range want[next:] {
				r.lose(i, "not produced by the decoder before the end of the stream (damaged?)")
			}
			return len(want), nil
		}
		return next, &FrameError{Video: r.v.name, Index: want[next], Why: "not produced by the decoder before the end of the stream"}
	}
	return next, nil
}
