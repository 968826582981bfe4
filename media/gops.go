package media

import "sort"

// gopCounter numbers decoded frames by the packet they came from, for streams
// whose PTS cannot give presentation order (see Index.Trusted).
//
// Counting decoder output is not enough there: a packet that yields no frame
// (damaged, an N-VOP, a dropped picture) would shift every later index by one.
// Instead each packet is tagged with its decode-order position before it is sent,
// and the decoder hands the tag back on the frame the packet became. Keyframes
// cut decode order into GOPs, and a keyframe is where presentation order restarts
// (every frame decoded before it is shown before it, as in every codec vpipe
// reads), so GOP g, whose packets are starts[g] … starts[g+1]-1 in decode order,
// holds exactly frames starts[g] … starts[g+1]-1 in presentation order. Within a
// GOP the decoder emits frames in presentation order, so the r-th frame out of
// GOP g is frame starts[g]+r.
//
// A packet that produced no frame makes its GOP's numbers uncertain from there
// on (where in presentation order it belonged cannot be told), but no other
// GOP's: those frames are left out and a wanted index among them is an error.
// The decoder reports most such packets as it gets them. One it swallows
// silently (an N-VOP) is found as soon as more packets sent are not out than
// the decoder's reorder delay allows (it holds back at most that many frames),
// before the frame it would shift is numbered; or else when the GOP closes a
// frame short, and then every wanted index of the GOP is an error.
type gopCounter struct {
	starts []int    // decode position of each GOP's first packet; starts[0] == 0
	n      int      // packets (frames) in the stream
	out    []int    // frames out of each GOP so far
	seen   []uint64 // bit d: the packet at decode position d became a frame
	sentIn []int    // packets of each GOP sent to the decoder
	outIn  []int    // frames out of each GOP, numbered or not
	sent   int      // packets sent
	lostAt []int    // -1, or frames out of the GOP when it was found to have lost one
	cur    int      // the latest GOP a numbered frame came from
	passes []bool   // GOPs passed over: not numbered, their non-reference frames may be dropped
}

// badRange is a GOP whose frames could not be numbered: frames first … end-1.
type badRange struct {
	first, end int
	why        string
}

func newGOPCounter(keys []int, n int) *gopCounter {
	starts := []int{0}
	for _, k := range keys {
		if k > starts[len(starts)-1] && k < n {
			starts = append(starts, k)
		}
	}
	c := &gopCounter{starts: starts, n: n, out: make([]int, len(starts)), lostAt: make([]int, len(starts)),
		seen: make([]uint64, (n+63)/64), sentIn: make([]int, len(starts)), outIn: make([]int, len(starts))}
	for g := range c.lostAt {
		c.lostAt[g] = -1
	}
	return c
}

// pass marks the GOPs a run starting in GOP from goes through on its way to
// its wanted frames want (increasing) without needing any of them: the
// decoder may drop their non-reference frames (sparse.go), so they are not
// numbered, and the frames missing from them are not taken for lost ones
// (lostAt 0 keeps them out of every count and check). Not the GOP just after
// one holding a wanted frame: its first numbered frame shows that GOP whole,
// which ends a run (finishing, reseekAfter); nor any after the last wanted one.
func (c *gopCounter) pass(from int, want []int) {
	if len(want) == 0 || from < 0 {
		return
	}
	holds := func(g int) bool {
		k := sort.SearchInts(want, c.starts[g])
		return k < len(want) && want[k] < c.end(g)
	}
	c.passes = make([]bool, len(c.starts))
	for g := from; g < c.gop(want[len(want)-1]); g++ {
		if holds(g) || (g > from && holds(g-1)) {
			continue
		}
		c.passes[g] = true
		c.lostAt[g] = 0
	}
}

// passed tells whether the packet at decode position d is in a passed GOP.
func (c *gopCounter) passed(d int) bool {
	g := c.gop(d)
	return g >= 0 && g < len(c.passes) && c.passes[g]
}

// gop is the GOP holding decode position (or frame index) d.
func (c *gopCounter) gop(d int) int {
	return sort.Search(len(c.starts), func(g int) bool { return c.starts[g] > d }) - 1
}

func (c *gopCounter) end(g int) int {
	if g+1 < len(c.starts) {
		return c.starts[g+1]
	}
	return c.n
}

// send records that the packet at decode position d goes to the decoder.
func (c *gopCounter) send(d int) {
	if g := c.gop(d); g >= 0 && d < c.n {
		c.sentIn[g]++
		c.sent = d + 1
	}
}

// lose records that the packet at decode position d produced no frame.
func (c *gopCounter) lose(d int) {
	if g := c.gop(d); g >= 0 && c.lostAt[g] < 0 {
		c.lostAt[g] = c.out[g]
	}
}

// certain tells whether frame i can still be numbered.
func (c *gopCounter) certain(i int) bool {
	g := c.gop(i)
	return g < 0 || c.lostAt[g] < 0 || i < c.starts[g]+c.lostAt[g]
}

// number gives the index of the frame decoded from the packet at decode position
// d; ok is false when it cannot be told (its GOP lost a packet). delay is the
// decoder's reorder delay (has_b_frames). bad lists GOPs found unnumberable on
// the way: the ones this frame closed, or its own.
func (c *gopCounter) number(d, delay int) (i int, ok bool, bad []badRange) {
	g := c.gop(d)
	if g < 0 || d >= c.n {
		return 0, false, []badRange{{0, c.n, "the decoder returned a frame no packet was tagged with"}}
	}
	if c.seen[d/64]&(1<<(d%64)) != 0 {
		c.lostAt[g] = c.out[g]
		return 0, false, []badRange{{c.starts[g], c.end(g), "the decoder gave two frames for one packet"}}
	}
	c.seen[d/64] |= 1 << (d % 64)
	c.outIn[g]++
	if c.lostAt[g] >= 0 {
		return 0, false, nil
	}
	if g > c.cur {
		bad = c.close(c.cur, g)
		c.cur = g
	}
	// Packets sent and not out: the decoder holds at most delay of them, so any
	// more were lost, and this frame may be shown after one of them.
	held, last := 0, c.gop(c.sent-1)
	for h := c.cur; h <= last; h++ {
		if c.lostAt[h] < 0 {
			held += c.sentIn[h] - c.outIn[h]
		}
	}
	if held > delay {
		for h := c.cur; h <= last; h++ {
			if c.lostAt[h] < 0 && (h == g || c.sentIn[h] > c.outIn[h]) {
				c.lostAt[h] = c.out[h]
			}
		}
		return 0, false, bad
	}
	// At most one frame per packet (seen), so i stays inside the GOP.
	i = c.starts[g] + c.out[g]
	c.out[g]++
	return i, true, bad
}

// finish closes every GOP after the last frame: call it once the decoder is drained.
func (c *gopCounter) finish() []badRange {
	return c.close(c.cur, len(c.starts))
}

// close checks GOPs from … to-1, which no frame can come from any more.
func (c *gopCounter) close(from, to int) []badRange {
	var bad []badRange
	for g := from; g < to; g++ {
		if c.lostAt[g] < 0 && c.out[g] != c.end(g)-c.starts[g] {
			c.lostAt[g] = c.out[g]
			bad = append(bad, badRange{c.starts[g], c.end(g), "the decoder gave fewer frames than it has packets"})
		}
	}
	return bad
}
