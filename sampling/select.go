package sampling

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// The rules apply in this order (README, "Which frames"):
//
//  1. the window: start (inclusive) and end (exclusive) frame indices;
//  2. at most one chooser: fps, max_fps, a list (frames, times, or the
//     video's entry in frames_file), or keyframes_only; without one, every frame;
//  3. only_annotated;
//  4. step: every step-th of what is left;
//  5. the content rules (scene_threshold, dedup), while decoding, on the frames
//     steps 1–4 chose, in order (package content).
//
// Steps 1–4 need only the PTS map, so they are known before anything is decoded.

// Timeline is what the rules read of a video's PTS map.
type Timeline struct {
	// PTS are the frames' timestamps in presentation order; when the map was
	// not scanned to the end, only the first Need() are certain.
	PTS   []int64
	Count int // frames in the video
	// TBNum/TBDen is the time base of PTS.
	TBNum, TBDen int64
	// LastDuration is how long the last frame is shown, in the time base (0:
	// unknown, then the gap between the last two frames is taken).
	LastDuration int64
	// Keyframes are the keyframes' indices, increasing.
	Keyframes []int
}

// List is an explicit per-video choice of frames: indices or times.
type List struct {
	Missing bool     // a frames_file with no entry for the video: nothing is taken
	Key     string   // where it comes from, for errors: "sampling.frames", `frames_file "f.json" entry "a.mp4"`
	Frames  []int    // frame indices
	Times   []string // seconds from frame 0, or [HH:]MM:SS[.fff]
}

// Rule is one step of a selection and how many frames are left after it.
type Rule struct {
	Name string
	Left int
}

// Selection is what the rules chose, before the content rules.
type Selection struct {
	Indices []int
	Rules   []Rule
}

// Describe is the rules in order with the frames each leaves, for vpipe plan.
func (s Selection) Describe(content string) string {
	parts := make([]string, len(s.Rules))
	for i, r := range s.Rules {
		parts[i] = fmt.Sprintf("%s: %d", r.Name, r.Left)
	}
	if content != "" {
		parts = append(parts, content+": decided while decoding")
	}
	return strings.Join(parts, "; ")
}

// Need is how many leading frames of the PTS map the selection reads: 0 for
// the whole map (a rule that needs the video's end or a time's frame).
func (s Spec) Need() int {
	end := 0
	if s.End != nil {
		end = *s.End
	}
	switch {
	case s.MaxFPS > 0, s.List != nil && len(s.List.Times) > 0:
		return 0
	case s.FPS > 0:
		if end > 0 {
			return end + 1 // frame end's time closes the window
		}
		return 0
	case s.List != nil:
		hi := 0
		for _, f := range s.List.Frames {
			hi = max(hi, f+1)
		}
		if end > 0 {
			hi = min(hi, end)
		}
		return max(hi, 1)
	}
	return end
}

// Select applies the window, the chooser, only_annotated and step. An entry of
// a list past the video's end is an error naming it and the video's length.
func (s Spec) Select(tl Timeline, annotated func(int) bool) (Selection, error) {
	var sel Selection
	limit := s.Limit(tl.Count)
	if s.Start >= limit {
		sel.Rules = append(sel.Rules, Rule{fmt.Sprintf("window from %d: past the video's %d frames", s.Start, tl.Count), 0})
		return sel, nil
	}
	sel.Rules = append(sel.Rules, Rule{fmt.Sprintf("window %d-%d", s.Start, limit-1), limit - s.Start})
	cand, err := s.choose(tl, limit, &sel)
	if err != nil {
		return sel, err
	}
	if s.OnlyAnnotated {
		cand = onlyAnnotated(cand, annotated)
		sel.Rules = append(sel.Rules, Rule{"only_annotated", len(cand)})
	}
	if s.Step > 1 {
		cand = everyStep(cand, s.Step)
		sel.Rules = append(sel.Rules, Rule{fmt.Sprintf("step %d", s.Step), len(cand)})
	}
	sel.Indices = cand
	return sel, nil
}

// choose applies the chooser to the window [s.Start, limit), adding its rule
// to sel (none without a chooser: every frame of the window).
func (s Spec) choose(tl Timeline, limit int, sel *Selection) ([]int, error) {
	var cand []int
	switch {
	case s.FPS > 0:
		cand = fpsFrames(tl, s.FPS, s.Start, limit)
		sel.Rules = append(sel.Rules, Rule{"fps " + fmtRate(s.FPS), len(cand)})
	case s.MaxFPS > 0:
		rate := tl.Rate()
		cand = s.maxFPSFrames(tl, rate, limit)
		sel.Rules = append(sel.Rules, Rule{fmt.Sprintf("max_fps %s (video %.5g fps)", fmtRate(s.MaxFPS), rate), len(cand)})
	case s.List != nil && len(s.List.Times) > 0:
		var err error
		if cand, err = s.timeFrames(tl, limit); err != nil {
			return nil, err
		}
		sel.Rules = append(sel.Rules, Rule{fmt.Sprintf("times (%d listed)", len(s.List.Times)), len(cand)})
	case s.List != nil:
		var err error
		if cand, err = s.listFrames(tl, limit); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("frames (%d listed)", len(s.List.Frames))
		if s.List.Missing {
			name = "frames_file: no entry"
		}
		sel.Rules = append(sel.Rules, Rule{name, len(cand)})
	case s.KeyframesOnly:
		for _, i := range tl.Keyframes {
			if s.in(i, limit) {
				cand = append(cand, i)
			}
		}
		sel.Rules = append(sel.Rules, Rule{"keyframes_only", len(cand)})
	default:
		cand = window(s.Start, limit)
	}
	return cand, nil
}

// in tells whether frame i is in the window [s.Start, limit).
func (s Spec) in(i, limit int) bool { return i >= s.Start && i < limit }

// window is every frame of [start, limit).
func window(start, limit int) []int {
	var cand []int
	for i := start; i < limit; i++ {
		cand = append(cand, i)
	}
	return cand
}

// maxFPSFrames are the window's frames at fps max_fps when the video's rate
// (above the slack) exceeds it, else all of them.
func (s Spec) maxFPSFrames(tl Timeline, rate float64, limit int) []int {
	if rate > s.MaxFPS*(1+maxFPSSlack) {
		return fpsFrames(tl, s.MaxFPS, s.Start, limit)
	}
	return window(s.Start, limit)
}

// timeFrames are the frames shown at the list's times, in the window, each
// once, increasing.
func (s Spec) timeFrames(tl Timeline, limit int) ([]int, error) {
	var cand []int
	seen := map[int]bool{}
	for k, t := range s.List.Times {
		i, err := tl.FrameAt(t)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", s.List.Key, k, err)
		}
		if s.in(i, limit) && !seen[i] {
			seen[i] = true
			cand = append(cand, i)
		}
	}
	sort.Ints(cand)
	return cand, nil
}

// listFrames are the list's frame indices in the window, each once,
// increasing; one past the video's end is an error.
func (s Spec) listFrames(tl Timeline, limit int) ([]int, error) {
	var cand []int
	seen := map[int]bool{}
	for k, i := range s.List.Frames {
		if i < 0 || i >= tl.Count {
			return nil, fmt.Errorf("%s[%d]: frame %d is out of range: the video has %d frames (0-%d)%s",
				s.List.Key, k, i, tl.Count, tl.Count-1, tl.durationNote())
		}
		if s.in(i, limit) && !seen[i] {
			seen[i] = true
			cand = append(cand, i)
		}
	}
	sort.Ints(cand)
	return cand, nil
}

// onlyAnnotated keeps the frames that have an annotation.
func onlyAnnotated(cand []int, annotated func(int) bool) []int {
	kept := cand[:0:0]
	for _, i := range cand {
		if annotated != nil && annotated(i) {
			kept = append(kept, i)
		}
	}
	return kept
}

// everyStep keeps every step-th frame, the first included.
func everyStep(cand []int, step int) []int {
	kept := cand[:0:0]
	for k, i := range cand {
		if k%step == 0 {
			kept = append(kept, i)
		}
	}
	return kept
}

// maxFPSSlack is how far (a fraction) a video's mean rate may exceed max_fps
// and still count as at most it: rates are named by rounded decimals (29.97
// for 30000/1001, 0.0001 % less), and a mean rate from timestamps rounded to
// the millisecond is off by about as much. Taking fps F there would not drop
// the rare frame an exact excess calls for, but a third of them where
// rounding puts frame times just after the instants k/F.
const maxFPSSlack = 0.001

func fmtRate(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// rat is f as the decimal it was written as (29.97 is 2997/100, as the CLI's
// av_d2q gives for fps=29.97), not its binary value.
func rat(f float64) *big.Rat {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return r
}

// rel is frame i's PTS counted from frame 0's.
func (tl Timeline) rel(i int) int64 { return tl.PTS[i] - tl.PTS[0] }

// endTicks is when the last frame stops being shown, from frame 0, in the
// time base: the last frame's time plus its duration (its packet's, else the
// gap before it).
func (tl Timeline) endTicks() int64 {
	n := len(tl.PTS)
	d := tl.LastDuration
	if d <= 0 && n >= 2 {
		d = tl.PTS[n-1] - tl.PTS[n-2]
	}
	return tl.rel(n-1) + max(d, 0)
}

// Duration is the video's length in seconds, frame 0 to the end of the last frame.
func (tl Timeline) Duration() float64 {
	return float64(tl.endTicks()) * float64(tl.TBNum) / float64(tl.TBDen)
}

// Rate is the video's mean frame rate: frames per second of Duration.
func (tl Timeline) Rate() float64 {
	d := tl.Duration()
	if d <= 0 {
		return 0
	}
	return float64(tl.Count) / d
}

func (tl Timeline) durationNote() string {
	if len(tl.PTS) < tl.Count {
		return ""
	}
	return fmt.Sprintf(", %.3f s", tl.Duration())
}

// slot is the CLI fps filter's output slot of a time (ticks from frame 0):
// ceil(ticks × tb × F), the rescaling of fps=F:round=up.
func (tl Timeline) slot(ticks int64, f *big.Rat, a, b *big.Int) *big.Int {
	a.SetInt64(ticks)
	a.Mul(a, big.NewInt(tl.TBNum))
	a.Mul(a, f.Num())
	b.SetInt64(tl.TBDen)
	b.Mul(b, f.Denom())
	// ceil(a / b) for a >= 0
	a.Add(a, b)
	a.Sub(a, big.NewInt(1))
	return a.Quo(a, b)
}

// fpsFrames are the frames in [start, limit) displayed at some instant k/F
// (k = 0, 1, …) before the video ends: frame i is shown from its time until
// the next frame's, so it is chosen when a slot ceil(t×F) falls between its
// slot and the next frame's. Each frame at most once.
func fpsFrames(tl Timeline, fps float64, start, limit int) []int {
	f := rat(fps)
	var a, b big.Int
	next := func(i int) *big.Int { // the slot where frame i's showing ends
		if i+1 < tl.Count && i+1 < len(tl.PTS) {
			return new(big.Int).Set(tl.slot(tl.rel(i+1), f, &a, &b))
		}
		return new(big.Int).Set(tl.slot(tl.endTicks(), f, &a, &b))
	}
	var out []int
	cur := new(big.Int).Set(tl.slot(tl.rel(start), f, &a, &b))
	for i := start; i < limit; i++ {
		n := next(i)
		if cur.Cmp(n) < 0 {
			out = append(out, i)
		}
		cur = n
	}
	return out
}

// ParseTime reads a time as seconds from frame 0: "12", "12.5", "1e-05",
// "MM:SS.fff" or "HH:MM:SS.fff" (any number of decimals). It is exact: 0.1 is
// 1/10.
func ParseTime(s string) (*big.Rat, error) {
	t := strings.TrimSpace(s)
	parts := strings.Split(t, ":")
	if t == "" || len(parts) > 3 {
		return nil, fmt.Errorf("time %q: want seconds (12.5) or HH:MM:SS.mmm", s)
	}
	if m, e, ok := strings.Cut(strings.ToLower(t), "e"); ok && len(parts) == 1 {
		// seconds with an exponent, as JSON writers put small numbers (1e-05)
		whole, frac, dot := strings.Cut(m, ".")
		e = strings.TrimPrefix(strings.TrimPrefix(e, "+"), "-")
		v, good := new(big.Rat).SetString(t)
		if !digits(whole) || (dot && !digits(frac)) || !digits(e) || len(e) > 3 || !good {
			return nil, fmt.Errorf("time %q: want seconds (12.5) or HH:MM:SS.mmm", s)
		}
		return v, nil
	}
	total := new(big.Rat)
	for k, p := range parts {
		last := k == len(parts)-1
		whole, frac, dot := strings.Cut(p, ".")
		v, good := new(big.Rat).SetString(p)
		if !digits(whole) || (dot && (!last || !digits(frac))) || !good {
			return nil, fmt.Errorf("time %q: want seconds (12.5) or HH:MM:SS.mmm", s)
		}
		if k > 0 && v.Cmp(big.NewRat(60, 1)) >= 0 {
			return nil, fmt.Errorf("time %q: %s must be below 60", s, map[bool]string{true: "seconds", false: "minutes"}[last])
		}
		total.Mul(total, big.NewRat(60, 1))
		total.Add(total, v)
	}
	return total, nil
}

// FrameAt is the frame displayed at time s (seconds from frame 0): the last
// frame whose time is <= s. A time at or past the video's end is an error
// naming it and the video's length.
//
// The comparison is exact, with one allowance: a time that is a frame's
// time_s as the image meta holds it (the float64 nearest its exact time,
// whose shortest decimal may lie a hair below it: 0.03333333333333333 for
// 1/30) names that frame. No two frames of a video share that float.
func (tl Timeline) FrameAt(s string) (int, error) {
	t, err := ParseTime(s)
	if err != nil {
		return 0, err
	}
	tf, _ := t.Float64()
	// frame i is at or before t ⟺ rel(i)·num·t.den <= t.num·den, or its
	// time_s is t's float
	lhs := func(ticks int64) *big.Int {
		v := big.NewInt(ticks)
		v.Mul(v, big.NewInt(tl.TBNum))
		return v.Mul(v, t.Denom())
	}
	rhs := new(big.Int).Mul(t.Num(), big.NewInt(tl.TBDen))
	atOrBefore := func(ticks int64) bool {
		if lhs(ticks).Cmp(rhs) <= 0 {
			return true
		}
		f, _ := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(ticks), big.NewInt(tl.TBNum)), big.NewInt(tl.TBDen)).Float64()
		return f == tf
	}
	n := min(tl.Count, len(tl.PTS))
	last := n - 1
	if lhs(tl.rel(last)).Cmp(rhs) < 0 && lhs(tl.endTicks()).Cmp(rhs) <= 0 {
		return 0, fmt.Errorf("time %q (%s s) is past the end of the video: %.3f s, %d frames",
			s, t.FloatString(3), tl.Duration(), tl.Count)
	}
	i := sort.Search(n, func(i int) bool { return !atOrBefore(tl.rel(i)) })
	return i - 1, nil
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
