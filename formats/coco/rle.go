package coco

import (
	sv "github.com/vpipe/vpipe/supervisely"
)

// RLE is a mask in COCO's uncompressed run-length form, as pycocotools'
// frPyObjects reads it: Size is [height, width]; Counts are the lengths of
// alternating runs of 0 and 1 over the pixels in column-major (Fortran)
// order, the first run being of 0s (0 when the first pixel is set).
// pycocotools' encode would give the same runs packed into a string;
// pycocotools reads both (frPyObjects), as do the readers built on it, and
// the list is readable with a few lines of code.
type RLE struct {
	Size   [2]int `json:"size"`
	Counts []int  `json:"counts"`
}

// Stats are what a mask adds to its annotation: the number of set pixels and
// their box (ok false: no pixel of the mask is inside the image).
type Stats struct {
	Area int64
	Box  [4]int // left, top, right, bottom, inclusive
	OK   bool
}

// EncodeRLE encodes a mask placed at origin on a w×h image; pixels of the
// mask outside the image are not part of it.
func EncodeRLE(w, h int, origin [2]int, m *sv.Mask) (RLE, Stats) {
	var r runs
	st := Stats{Box: [4]int{w, h, -1, -1}}
	top := min(max(origin[1], 0), h)
	bottom := min(max(origin[1]+m.H, top), h) // rows [top, bottom) can hold mask pixels
	for x := 0; x < w; x++ {
		mx := x - origin[0]
		if mx < 0 || mx >= m.W {
			r.add(false, h)
			continue
		}
		r.add(false, top)
		for y := top; y < bottom; y++ {
			v := m.Bits[(y-origin[1])*m.W+mx]
			r.add(v, 1)
			if v {
				st.Area++
				st.Box = [4]int{min(st.Box[0], x), min(st.Box[1], y), max(st.Box[2], x), max(st.Box[3], y)}
			}
		}
		r.add(false, h-bottom)
	}
	st.OK = st.Area > 0
	if r.counts == nil {
		r.counts = []int{} // a 0×0 image
	}
	return RLE{Size: [2]int{h, w}, Counts: r.counts}, st
}

// runs accumulates run lengths, the first one counting 0s.
type runs struct {
	counts []int
	cur    bool
}

func (r *runs) add(v bool, n int) {
	if n <= 0 {
		return
	}
	switch {
	case len(r.counts) == 0 && v:
		r.counts = append(r.counts, 0, n)
	case len(r.counts) == 0:
		r.counts = append(r.counts, n)
	case v == r.cur:
		r.counts[len(r.counts)-1] += n
		return
	default:
		r.counts = append(r.counts, n)
	}
	r.cur = v
}
