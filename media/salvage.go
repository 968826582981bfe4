package media

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/asticode/go-astiav"
)

// Salvage (sampling.on_damage: salvage): a damaged video is mapped and decoded
// anyway, and every frame that cannot be vouched for is left out and named,
// never written under another frame's index.
//
// Mapping. A salvage Scan goes past the signs of damage that fail a video
// otherwise (declared sizes past the end of the file, a packet the demuxer
// flags corrupt, a Matroska element cut short, fewer packets than an MP4
// lists) and keeps the packets that are there. Packets lost in the middle (an
// MPEG-TS whose bytes were overwritten loses whole PES packets) leave holes
// in the timestamps; the frame period (the most common gap between
// consecutive PTS, or the frame rate's where a coarse time base rounds the
// times: 33.33 ms at 30 fps in Matroska's milliseconds) places each packet,
// so the frames after a hole keep their true indices. A packet off that grid
// cannot be placed: no frame from it on is numbered (they are listed as lost).
// The frame count is the container's where it declares one (an MP4's sample
// table; or the duration a Matroska header states, over the period), else
// what the file holds.
//
// Decoding. The decoder judges the frames: one is left out when the decoder
// flags it (AV_FRAME_FLAG_CORRUPT, decode_error_flags: concealed errors) or
// rejects its packet, when it comes after such a packet or frame in decode
// order before the next keyframe (it may be predicted from damaged pixels),
// and when the decoder never produces it. The demuxer's corrupt flag on a
// packet only tells that the file is damaged somewhere near: an MPEG-TS
// demuxer may set it on the packet before the one whose transport packets
// were lost, whose own bytes are whole and decode as the CLI decodes them.
// See Decode.

// salvageMap is what a salvage scan records of each packet.
type salvageMap struct {
	pkts []salvagePacket
}

type salvagePacket struct {
	pts, dts, dur int64
	ord           int // decode position among packets with PTS >= 0
	key           bool
	corrupt       bool
}

func newSalvageMap() *salvageMap { return &salvageMap{} }

func (m *salvageMap) packet(pts, dts, dur int64, ord int, key, corrupt bool) {
	m.pkts = append(m.pkts, salvagePacket{pts: pts, dts: dts, dur: dur, ord: ord, key: key, corrupt: corrupt})
}

// dtsHoles are the decode positions of packets followed, in decode order, by
// lost packets: a DTS gap of two frame periods or more. The frames decoded
// after a hole until the next keyframe may be predicted from a picture that
// is not there (a lost keyframe leaves its whole GOP to be concealed, without
// any flag from the decoder). Call before index(), which sorts by PTS.
func (m *salvageMap) dtsHoles() []int {
	var d []salvagePacket
	for _, p := range m.pkts {
		if p.dts != astiav.NoPtsValue {
			p.pts = p.dts
			d = append(d, p)
		}
	}
	period := framePeriod(d)
	var holes []int
	for k := 1; k < len(d) && period > 0; k++ {
		if d[k].pts-d[k-1].pts >= 2*period {
			holes = append(holes, d[k-1].ord)
		}
	}
	return holes
}

// salvageIndex is what Decode needs to salvage a damaged video.
type salvageIndex struct {
	lost    map[int]string // frame index → why it cannot be written, known from the map
	ordOf   map[int64]int  // PTS → decode position of its packet
	keyOrds []int          // decode positions of keyframes, sorted
	// unplaced is the first frame index the map cannot place: frames from there
	// to Count are lost (0 = every frame is placed).
	unplaced int
	held     int   // frames the file holds, up to the first unplaced (the rest of PTS are the period's)
	holes    []int // decode positions followed by lost packets (dtsHoles)
}

// noteDamage records the first damage a salvage scan goes past.
func (v *Video) noteDamage(err error) {
	if v.damage == "" {
		v.damage = strings.TrimPrefix(err.Error(), v.name+": ")
	}
}

// index is what a salvage decode needs of a map with no damage found (or the
// start of one with damage): decode positions and keyframes.
func (m *salvageMap) index() *salvageIndex {
	si := &salvageIndex{lost: map[int]string{}, ordOf: map[int64]int{}}
	sort.Slice(m.pkts, func(i, j int) bool { return m.pkts[i].pts < m.pkts[j].pts })
	for _, p := range m.pkts {
		si.ordOf[p.pts] = p.ord
		if p.key {
			si.keyOrds = append(si.keyOrds, p.ord)
		}
	}
	sort.Ints(si.keyOrds)
	return si
}

// placeFrames builds the map of a damaged video from the packets it holds.
func (v *Video) placeFrames(x *Index, m *salvageMap, declared int) {
	var holes []int
	if v.Info.Format != "matroska,webm" {
		// (Matroska stores no DTS: FFmpeg makes them up from the PTS it has
		// seen, so a hole shows a GOP late there.)
		holes = m.dtsHoles()
	}
	si := m.index()
	si.holes = holes
	x.salvage = si
	g := v.frameGrid(m.pkts, x.TimeBase)
	x.PTS = x.PTS[:0]
	if x.Trusted && g.period > 0 {
		g.place(x, si, m.pkts)
	} else {
		for _, p := range m.pkts {
			x.PTS = append(x.PTS, p.pts)
		}
	}
	sort.Slice(x.Keys, func(i, j int) bool { return x.Keys[i].pts < x.Keys[j].pts })
	x.Complete = true
	known := v.countFrames(x, si, g, declared)
	padFrames(x, si, g)
	if !known {
		x.CountUnknown = true
		x.Damage += fmt.Sprintf("; the file does not say how many frames it had: any after frame %d are missing too, unlisted", x.Count-1)
	}
}

// countFrames sets the frame count of a damaged video: what the container
// declares, else (Matroska) its duration in periods, at least the frames
// placed and the one that could not be. It tells whether the count is known.
func (v *Video) countFrames(x *Index, si *salvageIndex, g frameGrid, declared int) (known bool) {
	x.Count = len(x.PTS)
	known = true
	switch {
	case declared > 0:
		x.Count = max(x.Count, declared-x.negative)
	case g.period > 0 && si.unplaced == 0 && v.Info.Format == "matroska,webm":
		known = v.matroskaCount(x, g)
	default:
		known = false
	}
	if si.unplaced > 0 {
		x.Count = max(x.Count, si.unplaced+1) // at least the frame that could not be placed
	}
	if si.unplaced == 0 && x.Count > len(x.PTS) {
		si.unplaced = len(x.PTS)
	}
	return known
}

// padFrames gives the frames past what the file holds the times the period
// gives them, so that rules reading times (fps, times) see the whole video;
// every one of them is lost (unplaced).
func padFrames(x *Index, si *salvageIndex, g frameGrid) {
	si.held = len(x.PTS)
	if g.period > 0 && len(x.PTS) > 0 {
		for len(x.PTS) < x.Count {
			x.PTS = append(x.PTS, g.at(x.PTS[0], len(x.PTS)))
		}
	}
}

// matroskaCount sets the frame count of a damaged Matroska/WebM file from the
// duration its header states (written before the clusters, so a cut leaves
// it), in frame periods: the stream's, else the file's, which an audio track
// may stretch. (An AVI's header count is replaced by what FFmpeg finds when
// the index at the end is gone.) It tells whether the count is known.
func (v *Video) matroskaCount(x *Index, g frameGrid) bool {
	secs := 0.0
	if d := v.stream.Duration(); d > 0 && d != astiav.NoPtsValue {
		secs = float64(d) * float64(x.TimeBase.Num()) / float64(x.TimeBase.Den())
	} else if d := v.fc.Duration(); d > 0 {
		secs = float64(d) / 1e6
	}
	if secs <= 0 || x.TimeBase.Num() <= 0 {
		return false
	}
	p := g.period * float64(x.TimeBase.Num()) / float64(x.TimeBase.Den())
	n := int(math.Round(secs / p))
	if n < x.Count || n >= 4*x.Count+1000 {
		return false
	}
	x.Count = n
	return true
}

// frameGrid is the frame period by which the frames of a damaged file are
// placed: frame i of a constant-rate stream is at PTS[0] + i periods, give or
// take tol ticks. A time base whose tick does not divide the period rounds
// every frame time: Matroska's millisecond at 30 fps stores 0, 33, 67, 100 …,
// gaps of 33 and 34 ms that are no whole number of any period; the period is
// then the stream's frame rate's (33.33 ms) and a time may be a tick off.
type frameGrid struct {
	period float64 // in ticks of the time base; 0 = none
	tol    float64 // how far a frame's time may be off its place, in ticks
}

// frameGrid takes the most common gap between consecutive PTS as the period,
// or the stream's frame rate when that is within a tick of it (rounded times).
func (v *Video) frameGrid(pk []salvagePacket, tb astiav.Rational) frameGrid {
	m := framePeriod(pk)
	if m < 3 || tb.Num() <= 0 {
		return frameGrid{period: float64(m)}
	}
	for _, r := range []astiav.Rational{v.stream.AvgFrameRate(), v.stream.RFrameRate()} {
		if r.Num() <= 0 || r.Den() <= 0 {
			continue
		}
		p := float64(r.Den()) * float64(tb.Den()) / (float64(r.Num()) * float64(tb.Num()))
		if p != float64(m) && math.Abs(p-float64(m)) < 1 {
			return frameGrid{period: p, tol: 1}
		}
	}
	return frameGrid{period: float64(m)}
}

// at is the time the grid gives frame i, frame 0 being at base.
func (g frameGrid) at(base int64, i int) int64 {
	return base + int64(math.Round(float64(i)*g.period))
}

// place numbers the packets (sorted by PTS) by their places on the grid: a
// packet i periods after the first is frame i. The places no packet takes are
// frames lost to the damage; from a packet off the grid (or a second one in
// the same place) on, no frame can be numbered (unplaced).
func (g frameGrid) place(x *Index, si *salvageIndex, pk []salvagePacket) {
	base := pk[0].pts
	for _, p := range pk {
		n := math.Round(float64(p.pts-base) / g.period)
		if math.Abs(float64(p.pts-base)-n*g.period) > g.tol+1e-6 || int(n) < len(x.PTS) {
			if len(x.PTS) > 0 {
				si.unplaced = len(x.PTS)
				return
			}
		}
		for len(x.PTS) < int(n) {
			// A hole of whole periods: frames lost to the damage, counted.
			si.lost[len(x.PTS)] = "no packet for it in the file (lost to the damage)"
			x.PTS = append(x.PTS, g.at(base, len(x.PTS)))
		}
		x.PTS = append(x.PTS, p.pts)
	}
}

// framePeriod is the most common gap between consecutive PTS (0 if none).
func framePeriod(pk []salvagePacket) int64 {
	n := map[int64]int{}
	var best int64
	for k := 1; k < len(pk); k++ {
		g := pk[k].pts - pk[k-1].pts
		if g <= 0 {
			continue
		}
		n[g]++
		if n[g] > n[best] || (n[g] == n[best] && g < best) {
			best = g
		}
	}
	return best
}

// lostWhy tells why frame i cannot be written, as far as the map knows ("" = it may be).
func (x *Index) lostWhy(i int) string {
	if x.salvage == nil {
		return ""
	}
	if w, ok := x.salvage.lost[i]; ok {
		return w
	}
	if u := x.salvage.unplaced; u > 0 && i >= u {
		if i >= x.salvage.held {
			return "past what the damaged file holds (or its timestamps place)"
		}
		return "the damage leaves its index uncertain"
	}
	return ""
}

// damageTracker follows damage in decode order while a salvage decode runs: a
// frame decoded after a damaged packet and before the next keyframe may be
// predicted from damaged pixels.
type damageTracker struct {
	si      *salvageIndex
	damaged []int // decode positions of damaged packets and frames
}

func newDamageTracker(si *salvageIndex) *damageTracker {
	return &damageTracker{si: si, damaged: append([]int(nil), si.holes...)}
}

func (d *damageTracker) mark(pts int64) {
	if ord, ok := d.si.ordOf[pts]; ok {
		d.damaged = append(d.damaged, ord)
	}
}

// tainted tells whether the frame with this PTS follows damage in its GOP.
func (d *damageTracker) tainted(pts int64) bool {
	ord, ok := d.si.ordOf[pts]
	if !ok {
		return false
	}
	// the last keyframe at or before ord
	k := sort.SearchInts(d.si.keyOrds, ord+1) - 1
	key := -1
	if k >= 0 {
		key = d.si.keyOrds[k]
	}
	for _, o := range d.damaged {
		if o < ord && o >= key {
			return true
		}
	}
	return false
}

// LostFrame is a wanted frame a salvage decode could not write.
type LostFrame struct {
	Index int
	Why   string
	// Written: the frame was emitted before the damage that makes its index
	// uncertain came to light (a GOP found short once it closed); take it back.
	Written bool
}

func (l LostFrame) String() string { return fmt.Sprintf("%d (%s)", l.Index, l.Why) }
