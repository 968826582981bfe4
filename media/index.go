package media

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/asticode/go-astiav"
)

// Index is a video's PTS map: frame i (0-based, presentation order) has PTS[i].
type Index struct {
	// PTS holds the sorted packet timestamps (>= 0) of the first video stream.
	PTS []int64
	// Keys are the keyframes sorted by PTS, with what a seek needs.
	Keys []keyframe
	// Count is the number of frames in the video. It equals len(PTS) when the
	// whole stream was scanned; otherwise it comes from the container header.
	Count int
	// Complete tells whether the whole stream was scanned.
	Complete bool
	// Trusted is false when the packet PTS cannot give presentation order
	// (missing PTS, or pts == dts on a codec that reorders frames); frames are then
	// numbered by the packet they came from, GOP by GOP, decoding from the start
	// (gopCounter).
	Trusted bool
	// keyOrds are the keyframes' positions in decode order among the packets with
	// PTS >= 0; set when !Trusted, to number frames by GOP (gopCounter).
	keyOrds []int
	// pos are the frame packets' byte positions in decode order, for seeking a
	// stream numbered by packet (rawseek.go); nil when it cannot be seeked so.
	pos []int64
	// negative counts packets with PTS < 0, which are not frames (edit lists, priming).
	negative int
	// TimeBase converts PTS to seconds.
	TimeBase astiav.Rational
	// FromIndex tells that the map came from the container's sample table,
	// without reading the payload.
	FromIndex bool
	// LastDuration is the packet duration of the frame with the largest PTS
	// (how long the last frame is shown), in the time base; 0 when not given.
	LastDuration int64
	// Damage is the first sign of damage a salvage scan found and went past
	// ("" when none): then some frames may be lost (see salvage.go).
	Damage string
	// packed: MPEG-4 part 2 with packed B-frames (mpeg4packed.go), numbered by
	// packet whatever its timestamps say.
	packed bool
	// CountUnknown: the damaged file does not say how many frames it had, so
	// any after Count-1 are missing too, unlisted (a salvaged video asking
	// for them is partial).
	CountUnknown bool
	// salvage holds what a salvage scan of a damaged file learnt; nil otherwise.
	salvage *salvageIndex
}

type keyframe struct {
	pts, dts, pos int64
}

// Time is frame i's time in seconds from frame 0.
func (x *Index) Time(i int) float64 {
	if i < 0 || i >= len(x.PTS) {
		return 0
	}
	// One rounding (the division), so 48640 × 1/12800 is 3.8, not 3.8000000000000003.
	return float64((x.PTS[i]-x.PTS[0])*int64(x.TimeBase.Num())) / float64(x.TimeBase.Den())
}

// Lookup returns the index of the frame with this PTS.
func (x *Index) Lookup(pts int64) (int, bool) {
	i := sort.Search(len(x.PTS), func(i int) bool { return x.PTS[i] >= pts })
	return i, i < len(x.PTS) && x.PTS[i] == pts
}

// reorderingCodecs may emit frames in another order than they are stored.
var reorderingCodecs = map[astiav.CodecID]bool{
	astiav.CodecIDH264: true, astiav.CodecIDHevc: true, astiav.CodecIDMpeg4: true,
	astiav.CodecIDMpeg2Video: true, astiav.CodecIDMpeg1Video: true, astiav.CodecIDVc1: true,
	astiav.CodecIDWmv3: true,
}

// reorders tells whether the decoder may output frames in another order than
// their packets: a codec that can reorder, unless FFmpeg measured no delay.
// Without the measurement, assume it can.
func (v *Video) reorders() bool {
	cp := v.stream.CodecParameters()
	return reorderingCodecs[cp.CodecID()] && videoDelay(cp) != 0
}

// Scan builds the PTS map. With need > 0 it stops demuxing once the first need
// frames are certain: packets come in decode order and PTS >= DTS, so when a
// packet's DTS passes the need-th smallest PTS seen, no later packet can come
// before it. The frame count then comes from the container, if it declares one.
//
// A video read from an Input that is a plain MP4/MOV is mapped from its sample
// table without fetching the payload (see indexedMP4), then reopened, so a
// full pass over a remote video fetches it about once, not twice.
func (v *Video) Scan(need int) (*Index, error) {
	v.damage = ""
	if err := v.checkLength(); err != nil {
		if !v.Salvage {
			return nil, err
		}
		v.noteDamage(err)
	}
	if v.cio != nil {
		indexed := v.indexedMP4()
		if _, err := v.opts.Input.Seek(v.cio.pos, io.SeekStart); err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		if indexed {
			v.cio.noData = true
			x, err := v.scan(need)
			if x != nil {
				x.FromIndex = true
			}
			if rerr := v.rewind(); rerr != nil {
				return nil, rerr // reopening failed: nothing left to read from
			}
			if errors.Is(err, errNotIndexed) {
				return v.scan(need) // the index does not match the packets: demux it all
			}
			return x, err
		}
	}
	return v.scan(need)
}

var errNotIndexed = errors.New("the container index does not list the packets")

func (v *Video) scan(need int) (*Index, error) {
	s := v.newScanner(need)
	demuxErrors.Delete(v.fc) // only what reading the packets logs
	if err := v.readPackets(s.packet); err != nil {
		return nil, err
	}
	if err := s.demuxerLogs(); err != nil {
		return nil, err
	}
	if len(s.x.PTS) == 0 {
		return nil, fmt.Errorf("%s: the video stream has no frames", v.name)
	}
	return s.finish()
}

// scanner is the state of one scan over the video's packets.
type scanner struct {
	v         *Video
	need      int
	x         *Index
	h         maxHeap // the need smallest PTS so far
	allEqual  bool    // every PTS equals its DTS so far
	missing   bool    // a packet had no PTS
	stopped   bool    // the first need frames were certain before the end
	fromIndex bool    // mapping from the sample table, without the payload
	k         int     // video packets so far
	maxPTS    int64
	// Keyframes in decode order (for numbering by GOP): flagged by the parser or
	// by the container's index, which survives damage to the keyframe's bytes.
	indexed map[int64]bool
	keyOrds []int
	tl      *timeless
	sm      *salvageMap // when salvaging
	mpeg4   *mpeg4Keys  // MPEG-4 part 2: packed B-frames and false keyframe flags are looked for
	notKey  bool        // the packet being recorded holds no keyframe, whatever its flags say
}

func (v *Video) newScanner(need int) *scanner {
	s := &scanner{
		v:         v,
		need:      need,
		x:         &Index{TimeBase: v.stream.TimeBase(), Trusted: true},
		allEqual:  true,
		fromIndex: v.cio != nil && v.cio.noData,
		// Taken before reading: the demuxer adds entries as it reads.
		indexed: indexKeys(v.stream),
	}
	if v.damage != "" {
		// A file cut short has lost its index (an AVI's idx1 is at the end), and
		// what the demuxer made up instead marks every chunk a keyframe.
		s.indexed = nil
	}
	s.tl = v.newTimeless()
	if cp := v.stream.CodecParameters(); cp.CodecID() == astiav.CodecIDMpeg4 {
		s.mpeg4 = &mpeg4Keys{}
		s.mpeg4.vol(cp.ExtraData())
		s.x.packed = divxPacked(cp.ExtraData())
	}
	if v.Salvage {
		s.sm = newSalvageMap()
	}
	return s
}

// packet takes one video packet into the map; errStop once the first need
// frames are certain.
func (s *scanner) packet(p *astiav.Packet) error {
	pts, dts, key, err := s.stamps(p)
	if err != nil {
		return err
	}
	x := s.x
	corrupt := p.Flags().Has(astiav.PacketFlagCorrupt)
	if corrupt {
		err := fmt.Errorf("%s: damaged or truncated at video packet %d", s.v.name, len(x.PTS)+x.negative)
		if s.sm == nil {
			return err
		}
		s.v.noteDamage(err)
	}
	if pts < 0 {
		x.negative++
		return nil
	}
	s.notKey = s.mpeg4 != nil && !s.fromIndex && s.mpeg4Packet(packetBytes(p))
	s.record(p, pts, dts, key, corrupt)
	if s.need > 0 && s.enough(pts, dts) {
		s.stopped = true
		return errStop
	}
	return nil
}

// mpeg4Packet notes packed B-frames announced in an MPEG-4 packet, and
// tells whether the packet holds no I-VOP first (mpeg4packed.go).
func (s *scanner) mpeg4Packet(b []byte) (notKey bool) {
	if !s.x.packed && divxPacked(b) {
		s.x.packed = true
	}
	if s.mpeg4.timeBits == 0 {
		s.mpeg4.vol(b)
	}
	return s.mpeg4.notKey(b)
}

// stamps reads a packet's PTS, DTS and keyframe flag, noting missing and
// reordered timestamps.
func (s *scanner) stamps(p *astiav.Packet) (pts, dts int64, key bool, err error) {
	pts, dts = p.Pts(), p.Dts()
	key = p.Flags().Has(astiav.PacketFlagKey)
	if s.fromIndex {
		// Without the payload a parser cannot tell keyframes; the sample
		// table (stss) does. Packet k is index entry k while nothing seeks.
		pos, kf, ok := indexEntry(s.v.stream, s.k)
		if !ok || pos != p.Pos() {
			return 0, 0, false, errNotIndexed
		}
		key = kf
	}
	s.k++
	if pts == astiav.NoPtsValue {
		s.missing = true
		pts = dts
	}
	if pts != dts {
		s.allEqual = false
	}
	if pts == astiav.NoPtsValue {
		// A raw elementary stream (.h264, .hevc) has no timestamps at all: the
		// frame is numbered by packet (untrusted), its time made up from the
		// frame rate as the ffmpeg CLI does (timeless.go).
		pts = s.tl.next(p.Duration())
		dts = astiav.NoPtsValue // none to look up in the container's index
	} else {
		s.tl.seen(pts, dts)
	}
	return pts, dts, key, nil
}

// record adds a packet of PTS >= 0 to the map.
func (s *scanner) record(p *astiav.Packet, pts, dts int64, key, corrupt bool) {
	x := s.x
	x.PTS = append(x.PTS, pts)
	x.pos = append(x.pos, p.Pos())
	if len(x.PTS) == 1 || pts >= s.maxPTS {
		s.maxPTS, x.LastDuration = pts, p.Duration()
	}
	key = key && !s.notKey
	isKey := key || (dts != astiav.NoPtsValue && s.indexed[dts] && !s.notKey)
	if isKey {
		s.keyOrds = append(s.keyOrds, len(x.PTS)-1)
	}
	if s.sm != nil {
		s.sm.packet(pts, dts, p.Duration(), len(x.PTS)-1, isKey, corrupt)
	}
	if key {
		x.Keys = append(x.Keys, keyframe{pts: pts, dts: dts, pos: p.Pos()})
	}
}

// enough keeps the need smallest PTS and tells whether the first need frames
// are certain: the packet's DTS passed the need-th smallest PTS, and the
// container declares the frame count.
func (s *scanner) enough(pts, dts int64) bool {
	if s.h.Len() < s.need {
		heap.Push(&s.h, pts)
	} else if pts < s.h[0] {
		s.h[0] = pts
		heap.Fix(&s.h, 0)
	}
	if s.h.Len() == s.need && dts != astiav.NoPtsValue && dts > s.h[0] && s.v.damage == "" {
		// Not when PTS look untrustworthy so far: numbering by GOP needs every keyframe.
		if n := s.v.declaredFrames(); n > 0 && !s.missing && !(s.allEqual && s.v.reorders()) && !s.x.packed {
			return true
		}
	}
	return false
}

// demuxerLogs fails the scan on what the demuxer logged while reading (a cut
// element, a broken one it read past), or notes it as damage when salvaging.
func (s *scanner) demuxerLogs() error {
	v := s.v
	if _, cut := endedEarly.Load(v.fc); cut {
		err := fmt.Errorf("%s: truncated: the file ends inside an element the demuxer was reading", v.name)
		if s.sm == nil {
			return err
		}
		v.noteDamage(err)
	}
	if msg, bad := demuxErrors.Load(v.fc); bad {
		err := fmt.Errorf("%s: broken container: the demuxer met %q and read on past it (frames may be lost there)", v.name, msg)
		if s.sm == nil {
			return err
		}
		v.noteDamage(err)
	}
	return nil
}

// finish judges the map read: trusted or not, whole or cut short, damaged
// (placed by salvage.go) or not.
func (s *scanner) finish() (*Index, error) {
	v, x, sm := s.v, s.x, s.sm
	if s.missing || (s.allEqual && v.reorders()) || x.packed {
		x.Trusted = false
		x.keyOrds = s.keyOrds
	}
	if x.Trusted || !v.gopSeek() || x.negative > 0 || sm != nil {
		x.pos = nil
	}
	declared := v.declaredFrames()
	if !s.stopped && declared > 0 && len(x.PTS)+x.negative < declared {
		err := fmt.Errorf("%s: truncated: the container lists %d video frames, the file holds %d",
			v.name, declared, len(x.PTS)+x.negative)
		if sm == nil {
			return nil, err
		}
		v.noteDamage(err)
	}
	if sm != nil && v.damage != "" {
		// A damaged file: place the frames by their timestamps (salvage.go).
		x.Damage = v.damage
		x.keyOrds = s.keyOrds
		v.placeFrames(x, sm, declared)
		return x, nil
	}
	if sm != nil {
		x.salvage = sm.index() // nothing found yet: the decoder may still find damage
	}
	s.complete()
	return x, nil
}

// complete sorts the map and counts the frames (the container's count when
// the scan stopped early).
func (s *scanner) complete() {
	x := s.x
	sortInt64(x.PTS)
	sort.Slice(x.Keys, func(i, j int) bool { return x.Keys[i].pts < x.Keys[j].pts })
	x.Complete = !s.stopped
	x.Count = len(x.PTS)
	if s.stopped {
		x.Count = s.v.declaredFrames() - x.negative
		if x.Count < len(x.PTS) {
			x.Count = len(x.PTS)
		}
	}
}

// declaredFrames is the frame count the container declares, 0 if none can be
// relied on. Only MP4/MOV's is a count of frames (its sample table); AVI's
// stream length counts time-base ticks, which an AVI muxed with a finer time
// base fills with empty chunks (600 for 300 frames at 30 fps in 1/60), and
// truncation there is found by its RIFF size (checkLength).
func (v *Video) declaredFrames() int {
	if v.Info.Format != "mov,mp4,m4a,3gp,3g2,mj2" {
		return 0
	}
	return int(v.stream.NbFrames())
}

type maxHeap []int64

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
