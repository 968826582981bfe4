// Package sampling decides which frame indices a run takes from a video. It
// reproduces supervisely.video.sampling's selection: the range [start, end), then
// (optionally) only annotated frames, then every step-th of what is left.
package sampling

import "fmt"

// Spec is the frame selection of a run.
type Spec struct {
	Start int  // first index, inclusive
	End   *int // exclusive; nil = to the end of the video
	Step  int  // every Step-th selected frame; 1 = all
	// OnlyAnnotated keeps only frames for which Annotated returns true, before Step.
	OnlyAnnotated bool

	// Choosers (at most one; see select.go for the order of the rules).
	FPS           float64 // frames displayed at k/FPS seconds; 0 = off
	MaxFPS        float64 // every frame, or as FPS when the video's rate is higher; 0 = off
	List          *List   // explicit frames or times; nil = off
	KeyframesOnly bool
}

// Validate reports a spec that can select nothing sensible.
func (s Spec) Validate() error {
	if s.Start < 0 {
		return fmt.Errorf("sampling.start must be >= 0, got %d", s.Start)
	}
	if s.Step < 1 {
		return fmt.Errorf("sampling.step must be >= 1, got %d", s.Step)
	}
	if s.End != nil && *s.End <= s.Start {
		return fmt.Errorf("sampling.end (%d) must be greater than sampling.start (%d)", *s.End, s.Start)
	}
	return nil
}

// Limit is one past the highest index the spec can select in a video of count
// frames: how far a scan of the video must go.
func (s Spec) Limit(count int) int {
	if s.End != nil && *s.End < count {
		return *s.End
	}
	return count
}

// Indices lists the selected frame indices of a video with count frames, in
// increasing order. annotated may be nil when OnlyAnnotated is false.
func (s Spec) Indices(count int, annotated func(int) bool) []int {
	var out []int
	n := 0
	for i := s.Start; i < s.Limit(count); i++ {
		if s.OnlyAnnotated && (annotated == nil || !annotated(i)) {
			continue
		}
		if n%s.Step == 0 {
			out = append(out, i)
		}
		n++
	}
	return out
}

// ImageName is the seed's image name: "<video name>_frame_<index>.png" with the
// index zero-padded to the number of digits of the frame count.
func ImageName(video string, index, count int) string {
	return fmt.Sprintf("%s_frame_%0*d.png", video, len(fmt.Sprint(count)), index)
}
