package media

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/asticode/go-astiav"
)

// Picture is one decoded frame, copied out of FFmpeg into a pooled Go buffer
// (planes packed with alignment 1, in the decoder's pixel format).
type Picture struct {
	Index      int     // presentation-order frame index
	PTS        int64   // in the stream's time base
	Time       float64 // seconds from frame 0
	Width      int
	Height     int
	PixFmt     int
	Colorspace int
	ColorRange int
	Rotation   int
	Buf        []byte
}

// bufs holds picture and image buffers by exact size: a run uses a few sizes
// (the decoder's YUV, the output RGB, PNG size classes), and reusing them keeps
// the garbage collector, and so peak memory, out of the per-frame path. A free
// list, not a sync.Pool: a sync.Pool keeps one object per P where other Ps
// cannot take it, so each size had up to GOMAXPROCS buffers more than the
// pipeline ever held (measured: ~14 MB more peak RSS at 1080p with 3 Ps). The
// free bytes are bounded; past the bound, buffers of other sizes (an earlier
// video's) go first, then the one handed back.
var bufs struct {
	sync.Mutex
	free  map[int][][]byte
	bytes int // in free
}

// maxFreeBytes bounds what the free lists keep: more than a 1080p run holds
// in flight (~20 frame buffers, ~80 MB), far less than a 4K one would.
const maxFreeBytes = 192 << 20

func getBuf(n int) []byte {
	bufs.Lock()
	if l := bufs.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		bufs.free[n] = l[:len(l)-1]
		bufs.bytes -= n
		bufs.Unlock()
		return b[:n]
	}
	bufs.Unlock()
	return make([]byte, n)
}

// getBufClass returns a pooled buffer of length n whose capacity is n rounded up
// to a power of two, for outputs whose size varies (PNG files).
func getBufClass(n int) []byte {
	c := 1
	for c < n {
		c <<= 1
	}
	return getBuf(c)[:n]
}

// PutBuf returns a buffer to the pool once nothing refers to it any more.
func PutBuf(b []byte) {
	n := cap(b)
	if n == 0 {
		return
	}
	bufs.Lock()
	defer bufs.Unlock()
	if bufs.free == nil {
		bufs.free = map[int][][]byte{}
	}
	for size, l := range bufs.free {
		if bufs.bytes+n <= maxFreeBytes {
			break
		}
		if size != n {
			bufs.bytes -= size * len(l)
			delete(bufs.free, size)
		}
	}
	if bufs.bytes+n > maxFreeBytes {
		return // the garbage collector takes it
	}
	bufs.free[n] = append(bufs.free[n], b[:n])
	bufs.bytes += n
}

// Release returns the picture's buffer to the pool.
func (p *Picture) Release() {
	PutBuf(p.Buf)
	p.Buf = nil
}

// DecodeOptions tune the decoder.
type DecodeOptions struct {
	Threads int // decoder threads; 0 = FFmpeg picks
	// KeyframesOnly has the decoder drop every frame but keyframes (as the CLI's
	// -skip_frame nokey): for wanted frames that are all keyframes. Ignored when
	// frames are numbered by packet (an untrusted PTS map); dropped for the rest
	// of the video when the skipping decoder scrambles its output (errScrambled).
	KeyframesOnly bool
	// DecodeAll has the decoder decode every frame it is sent, wanted or not
	// (else it may drop unwanted frames nothing refers to: sparse.go).
	DecodeAll bool
	// Lost is told, on a Salvage video, of every wanted frame left out (and of
	// one already emitted that must be taken back: Written), instead of a
	// FrameError. Each wanted frame is then emitted or lost, once.
	Lost func(LostFrame)
}

// FrameError names the frame index that could not be produced.
type FrameError struct {
	Video string
	Index int
	Why   string
	// First, End: when set (End > First), every frame of First … End-1 is
	// concerned, not only Index (a GOP that cannot be numbered).
	First, End int
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%s: frame %d: %s", e.Video, e.Index, e.Why)
}

// DecodeStats tell how the last Decode went.
type DecodeStats struct {
	Seeked    bool // at least one trusted seek produced frames
	Seeks     int  // seeks whose frames were used
	Restarted bool // a seek could not be trusted and decoding went on from frame 0
	Decoded   int  // frames the decoder produced (wanted or not), in all runs
	// SkipDropped: keyframes-only decoding put out frames out of order, and
	// the rest was decoded without skipping.
	SkipDropped bool
	// Sent counts the packets sent to the decoder, in all runs; Droppable
	// those of them it was let drop, were their frames not references
	// (sparse.go): Decoded falls short of Sent by what it dropped (and by
	// what it still held when a run stopped).
	Sent, Droppable int
	// NoDrop says why the last run's decoder was not let drop any frame ("" when it was).
	NoDrop string
}

// Stats reports how the last Decode went.
func (v *Video) Stats() DecodeStats { return v.stats }

// errRestart asks Decode to start again from the first frame.
var errRestart = errors.New("restart from the start")

// Decode emits the frames whose indices are listed in want (strictly increasing),
// each exactly once and in order. It seeks to the last keyframe at or before the
// first wanted frame and decodes forward; when the keyframe before the next
// wanted frame is more than reseekGap frames ahead, it seeks again rather than
// decode the frames in between. Every decoded frame is checked against the PTS map: if
// what a seek produces shows it cannot be trusted (a wanted frame never
// appears), the frames still to come are decoded from the first frame instead.
// A wanted frame that is still missing is a FrameError. emit owns the Picture.
func (v *Video) Decode(ctx context.Context, x *Index, want []int, o DecodeOptions, emit func(*Picture) error) error {
	if len(want) == 0 {
		return nil
	}
	for i := 1; i < len(want); i++ {
		if want[i] <= want[i-1] {
			return fmt.Errorf("%s: wanted frames not increasing at %d", v.name, want[i])
		}
	}
	salv := v.salvaging(x, o)
	if salv {
		want = knownLost(x, want, o)
		if len(want) == 0 {
			return nil
		}
	}
	if last := want[len(want)-1]; last >= len(x.PTS) {
		return &FrameError{Video: v.name, Index: last, Why: fmt.Sprintf("beyond the last frame (%d frames)", len(x.PTS))}
	}
	seek := x.Trusted || x.gopSeekable()
	v.stats = DecodeStats{}
	rest := want
	emitted := map[int]bool{} // salvage: what went out, to take back what a later check finds unnumberable
	if salv {
		inner := emit
		emit = func(p *Picture) error {
			emitted[p.Index] = true
			return inner(p)
		}
	}
	for len(rest) > 0 {
		n, err := v.decodeRun(ctx, x, rest, o, seek, emit)
		rest = rest[n:]
		switch {
		case errors.Is(err, errReseek):
			continue
		case errors.Is(err, errRestart) && seek:
			seek = false
			v.stats.Restarted = true
			continue
		case errors.Is(err, errScrambled):
			o.KeyframesOnly = false
			v.stats.SkipDropped = true
			continue
		}
		var fe *FrameError
		if salv && errors.As(err, &fe) {
			rest = loseNamed(fe, rest, emitted, o)
			continue
		}
		return err
	}
	return nil
}

// knownLost reports the wanted frames the salvage map already knows to be
// lost, which are not looked for, and returns the others.
func knownLost(x *Index, want []int, o DecodeOptions) []int {
	var keep []int
	for _, i := range want {
		why := x.lostWhy(i)
		if why == "" && i >= len(x.PTS) {
			why = "past what the damaged file holds"
		}
		if why != "" {
			o.Lost(LostFrame{Index: i, Why: why})
			continue
		}
		keep = append(keep, i)
	}
	return keep
}

// loseNamed, salvaging, leaves out the frames fe names (taking back those
// already emitted) and returns the frames still to decode.
func loseNamed(fe *FrameError, rest []int, emitted map[int]bool, o DecodeOptions) []int {
	first, end := fe.Index, fe.Index+1
	if fe.End > fe.First {
		first, end = fe.First, fe.End
	}
	var keep []int
	for _, i := range rest {
		if i >= first && i < end {
			o.Lost(LostFrame{Index: i, Why: fe.Why})
		} else {
			keep = append(keep, i)
		}
	}
	took := false
	for i := first; i < end; i++ {
		if emitted[i] {
			delete(emitted, i)
			o.Lost(LostFrame{Index: i, Why: fe.Why, Written: true})
			took = true
		}
	}
	if !took && len(keep) == len(rest) && len(rest) > 0 {
		// It names no frame still wanted: the next one cannot be had either.
		o.Lost(LostFrame{Index: rest[0], Why: fe.Why})
		keep = keep[1:]
	}
	return keep
}

// salvaging tells whether this decode salvages: a Salvage video, mapped by a
// salvage Scan, with somewhere to report what is lost.
func (v *Video) salvaging(x *Index, o DecodeOptions) bool {
	return v.Salvage && x.salvage != nil && o.Lost != nil
}

// reseekGap is how many frames must be skipped before seeking beats decoding
// through them. Measured on 1080p H.264 with frame threads: a seek with a fresh
// decoder costs about 70 ms of CPU (new threads and frame pools), some 12
// frames' worth; at gap 8, step 10 ran 20 % slower, at 24 it tied, and step 30
// ran 25 % less CPU than never re-seeking.
const reseekGap = 20

// errReseek ends a run so that the next one seeks to the next wanted frame.
var errReseek = errors.New("seek to the next wanted frame")

// errScrambled ends a keyframes-only run whose decoder put out frames past a
// wanted one, or lost one: the H.264 decoder skipping non-key frames orders
// open-GOP I frames (recovery points, not IDR) by picture order counts it
// cannot track without the skipped frames. The rest is decoded without
// skipping (seeking to each keyframe when they are far apart).
var errScrambled = errors.New("keyframes-only decoding put out frames out of order")

// byteSeek tells whether to seek by byte position: containers without an index.
func (v *Video) byteSeek() bool {
	switch v.Info.Format {
	case "mpegts", "mpeg", "mpegvideo", "h264", "hevc":
		return true
	}
	return false
}

// seekPoint picks the keyframe to start from: the one with the largest PTS not
// after the target. Leading pictures of a later keyframe (open GOP) have PTS below
// that keyframe's, so they are covered by decoding from the keyframe before.
func (x *Index) seekPoint(target int64) (keyframe, bool) {
	// Called for every emitted frame: a binary search over keyframes sorted by PTS.
	i := sort.Search(len(x.Keys), func(i int) bool { return x.Keys[i].pts > target })
	if i == 0 {
		return keyframe{}, false
	}
	return x.Keys[i-1], true
}

// picture copies a decoded frame into Go memory.
func (v *Video) picture(f *astiav.Frame, x *Index, i int) (*Picture, error) {
	n, err := f.ImageBufferSize(1)
	if err != nil {
		return nil, fmt.Errorf("%s: frame %d: %w", v.name, i, err)
	}
	buf := getBuf(n)
	if _, err := f.ImageCopyToBuffer(buf, 1); err != nil {
		PutBuf(buf)
		return nil, fmt.Errorf("%s: frame %d: %w", v.name, i, err)
	}
	cs, rng := frameColor(f)
	return &Picture{
		Index: i, PTS: x.PTS[i], Time: x.Time(i),
		Width: f.Width(), Height: f.Height(), PixFmt: int(f.PixelFormat()),
		Colorspace: cs, ColorRange: rng, Rotation: v.Info.Rotation, Buf: buf,
	}, nil
}
