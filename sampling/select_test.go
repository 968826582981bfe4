package sampling

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// vfr is 1 s at 10 fps, 1 s at 30 fps, 1 s at 15 fps in a 1/1000 time base
// (rounded to the millisecond, as Matroska stores them).
func vfr() Timeline {
	var pts []int64
	for i := 0; i < 10; i++ {
		pts = append(pts, int64(i*100))
	}
	for i := 0; i < 30; i++ {
		pts = append(pts, 1000+int64((i*1000+15)/30))
	}
	for i := 0; i < 15; i++ {
		pts = append(pts, 2000+int64((i*1000+7)/15))
	}
	return Timeline{PTS: pts, Count: len(pts), TBNum: 1, TBDen: 1000, LastDuration: 67, Keyframes: []int{0, 12, 24, 36, 48}}
}

func TestFPSHandDerived(t *testing.T) {
	tl := vfr()
	cases := []struct {
		spec Spec
		want []int
	}{
		// t = 0, 1, 2: the first frame of each segment
		{Spec{Step: 1, FPS: 1}, []int{0, 10, 40}},
		// t = k/4: 10 fps frames at 0, .2 (shown at .25), .5, .7 (.75); 30 fps at
		// 1, 1.233 (1.25: 1233 <= 1250 < 1267), 1.5, 1.733; 15 fps at 2, 2.2 (2.25), 2.467 (2.5), 2.733 (2.75)
		{Spec{Step: 1, FPS: 4}, []int{0, 2, 5, 7, 10, 17, 25, 32, 40, 43, 47, 51}},
		// a window, then step
		{Spec{Start: 5, End: ip(41), Step: 2, FPS: 4}, []int{5, 10, 25, 40}},
		// faster than every segment: each frame once, never twice
		{Spec{Step: 1, FPS: 60}, seq(0, 55)},
		// max_fps above the mean rate (55 frames / 3.0 s): every frame
		{Spec{Step: 1, MaxFPS: 20}, seq(0, 55)},
		{Spec{Step: 1, MaxFPS: 1}, []int{0, 10, 40}},
		{Spec{Step: 1, KeyframesOnly: true, End: ip(30)}, []int{0, 12, 24}},
	}
	for _, c := range cases {
		sel, err := c.spec.Select(tl, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sel.Indices, c.want) {
			t.Errorf("%+v: got %v, want %v", c.spec, sel.Indices, c.want)
		}
	}
}

func seq(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}

func TestTimesAndFrames(t *testing.T) {
	tl := vfr()
	sel, err := Spec{Step: 1, List: &List{Key: "sampling.times", Times: []string{"0", "0.15", "1.0", "00:00:01.034", "2.999", "0:02.2", "2.2"}}}.Select(tl, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 1.034 is at or after frame 11 (1033); 2.999 is shown by the last frame (2933 + 67 = 3000)
	if want := []int{0, 1, 10, 11, 43, 54}; !reflect.DeepEqual(sel.Indices, want) {
		t.Errorf("times: got %v, want %v", sel.Indices, want)
	}
	for _, c := range []struct {
		list *List
		want string
	}{
		{&List{Key: "sampling.times", Times: []string{"1", "3.0"}}, `sampling.times[1]: time "3.0" (3.000 s) is past the end of the video: 3.000 s, 55 frames`},
		{&List{Key: "sampling.frames", Frames: []int{3, 55}}, "sampling.frames[1]: frame 55 is out of range: the video has 55 frames (0-54), 3.000 s"},
	} {
		_, err := Spec{Step: 1, List: c.list}.Select(tl, nil)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	sel, err = Spec{Start: 2, Step: 2, List: &List{Frames: []int{9, 1, 3, 3, 5, 7}}, OnlyAnnotated: true}.Select(tl, func(i int) bool { return i != 5 })
	if err != nil {
		t.Fatal(err)
	}
	// window drops 1; sorted, once each: 3 5 7 9; annotated: 3 7 9; step 2: 3 9
	if want := []int{3, 9}; !reflect.DeepEqual(sel.Indices, want) {
		t.Errorf("frames: got %v, want %v", sel.Indices, want)
	}
	if d := sel.Describe("dedup"); d != "window 2-54: 53; frames (6 listed): 4; only_annotated: 3; step 2: 2; dedup: decided while decoding" {
		t.Errorf("describe: %s", d)
	}
}

func TestParseTime(t *testing.T) {
	// JSON writers put small numbers with an exponent (Python: 1e-05)
	for in, want := range map[string]string{"1e-05": "1/100000", "2.5E+1": "25/1", "3e2": "300/1",
		"12": "12/1", "12.5": "25/2", "01:12": "72/1", "00:01:12.250": "289/4", "1:00:00": "3600/1", " 0.1 ": "1/10"} {
		got, err := ParseTime(in)
		if err != nil || got.String() != want {
			t.Errorf("%q: got %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1:2:3:4", "00:61", "1:60:00", "1.2.3", "12s", ".5", "1:.5", "1.:00", "-1e2", "1e", "e5", "1:1e1", "1e2.5", "1e+"} {
		if _, err := ParseTime(in); err == nil || !strings.Contains(err.Error(), "time") {
			t.Errorf("%q: got %v, want an error", in, err)
		}
	}
}

// TestTimesFromMeta: a frame's time_s as the image meta holds it (the float
// nearest its exact time, printed shortest as JSON does) names that frame,
// though the decimal is a hair below the exact time (0.03333333333333333 <
// 1/30). Just below it is the frame before.
func TestTimesFromMeta(t *testing.T) {
	for _, tl := range []Timeline{
		cfr(90, 512, 1, 15360),   // 30 fps MP4
		cfr(90, 1001, 1, 30000),  // NTSC MP4
		cfr(90, 3003, 1, 180000), // NTSC in a 1/180000 time base
		cfr(60, 1502, 1, 90000),  // ~59.94 in MPEG-TS ticks
	} {
		for i := 0; i < tl.Count; i++ {
			// as media.Index.Time computes it, and encoding/json prints it
			ts := float64(tl.rel(i)*tl.TBNum) / float64(tl.TBDen)
			s := strconv.FormatFloat(ts, 'f', -1, 64)
			if got, err := tl.FrameAt(s); err != nil || got != i {
				t.Errorf("tb %d/%d: time_s %s of frame %d: got frame %d, %v", tl.TBNum, tl.TBDen, s, i, got, err)
			}
			if i == 0 {
				continue
			}
			below := strconv.FormatFloat(math.Nextafter(ts, 0), 'f', -1, 64)
			if got, err := tl.FrameAt(below); err != nil || got != i-1 {
				t.Errorf("tb %d/%d: %s, just below frame %d's time_s %s: got frame %d, %v", tl.TBNum, tl.TBDen, below, i, s, got, err)
			}
		}
	}
}

// cfr is n frames d ticks apart in the time base num/den.
func cfr(n int, d, num, den int64) Timeline {
	pts := make([]int64, n)
	for i := range pts {
		pts[i] = int64(i) * d
	}
	return Timeline{PTS: pts, Count: n, TBNum: num, TBDen: den, LastDuration: d}
}

// TestMaxFPSAtTheVideosRate: max_fps 29.97 on an NTSC video (30000/1001 fps)
// is every frame, in whatever time base: the mean rate's excess over 29.97
// (0.0001 %) is the rate's name, not frames to drop; and fps 29.97 on
// timestamps rounded to the millisecond would drop a third of them.
func TestMaxFPSAtTheVideosRate(t *testing.T) {
	ms := func(n int, num, den int64) Timeline { // frame i at i×num/den s, rounded to the ms (Matroska)
		tl := Timeline{Count: n, TBNum: 1, TBDen: 1000, LastDuration: (1000*num + den/2) / den}
		for i := int64(0); i < int64(n); i++ {
			tl.PTS = append(tl.PTS, (2000*i*num+den)/(2*den))
		}
		return tl
	}
	for _, c := range []struct {
		tl  Timeline
		max float64
	}{
		{ms(90, 1001, 30000), 29.97},
		{ms(72, 1001, 24000), 23.976},
		{ms(120, 1001, 60000), 59.94},
		{cfr(90, 1001, 1, 30000), 29.97},
		{cfr(60, 1502, 1, 90000), 59.92},
	} {
		sel, err := Spec{Step: 1, MaxFPS: c.max}.Select(c.tl, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sel.Indices) != c.tl.Count {
			t.Errorf("max_fps %g on %d frames at %.5f fps (tb 1/%d): %d frames, want all: %s", c.max, c.tl.Count, c.tl.Rate(), c.tl.TBDen,
				len(sel.Indices), sel.Describe(""))
		}
	}
	// clearly above: as fps
	if sel, _ := (Spec{Step: 1, MaxFPS: 29.9}).Select(ms(90, 1001, 30000), nil); len(sel.Indices) == 90 {
		t.Errorf("max_fps 29.9 on 29.97 fps kept every frame")
	}
}

// TestWindowPastTheEnd: a start at or past the video's end says so in plan's
// words, not as a backwards range ("window 80-60").
func TestWindowPastTheEnd(t *testing.T) {
	sel, err := Spec{Start: 80, Step: 1, FPS: 2}.Select(vfr(), nil)
	if err != nil || len(sel.Indices) != 0 {
		t.Fatal(sel, err)
	}
	if d := sel.Describe(""); d != "window from 80: past the video's 55 frames: 0" {
		t.Errorf("describe: %s", d)
	}
}
