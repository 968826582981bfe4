package coco

import (
	"math"
	"sort"

	sv "github.com/vpipe/vpipe/supervisely"
)

// FillPolygon rasterises a polygon the way the Supervisely SDK draws one
// (Polygon._draw_impl: cv2.fillPoly of the exterior with 1, then of the holes
// with 0): a pixel belongs to the polygon when its centre, the integer point
// (col, row), lies inside the exterior ring or on one of its edges, and not
// inside a hole nor on a hole's edge. Rings are filled by the even-odd rule.
// On axis-aligned and 45° edges this is exactly cv2.fillPoly's result; along
// other slopes cv2 draws the edge as an 8-connected line and may take or
// leave one pixel more at a row's end.
//
// Only the part inside a w×h image is made: the mask covers the exterior's
// box cut to the image, placed at origin; ok is false when nothing of the
// polygon is inside the image.
func FillPolygon(ext []sv.Pt, holes [][]sv.Pt, w, h int) (origin [2]int, m *sv.Mask, ok bool) {
	b := pointsBox(ext)
	x0, y0 := max(int(b[0]), 0), max(int(b[1]), 0)
	x1, y1 := min(int(b[2]), w-1), min(int(b[3]), h-1)
	if x0 > x1 || y0 > y1 {
		return origin, nil, false
	}
	origin = [2]int{x0, y0}
	m = &sv.Mask{W: x1 - x0 + 1, H: y1 - y0 + 1}
	m.Bits = make([]bool, m.W*m.H)
	fillRing(m, origin, ext, true)
	for _, hole := range holes {
		fillRing(m, origin, hole, false)
	}
	return origin, m, true
}

func pointsBox(ps []sv.Pt) [4]float64 {
	b := [4]float64{ps[0][0], ps[0][1], ps[0][0], ps[0][1]}
	for _, p := range ps[1:] {
		b[0], b[1] = min(b[0], p[0]), min(b[1], p[1])
		b[2], b[3] = max(b[2], p[0]), max(b[3], p[1])
	}
	return b
}

// fillRing sets to v the pixels of m (placed at origin) whose centres lie
// inside ring or on its edges.
func fillRing(m *sv.Mask, origin [2]int, ring []sv.Pt, v bool) {
	set := func(x, y int) {
		x, y = x-origin[0], y-origin[1]
		if x >= 0 && y >= 0 && x < m.W && y < m.H {
			m.Bits[y*m.W+x] = v
		}
	}
	n := len(ring)
	var xs []float64
	for row := 0; row < m.H; row++ {
		y := float64(origin[1] + row)
		xs = xs[:0]
		for i := 0; i < n; i++ {
			a, b := ring[i], ring[(i+1)%n]
			// Half-open in y, so a vertex shared by two edges is crossed once
			// (or not at all at a peak): the even-odd count stays right.
			if a[1] == b[1] || y < min(a[1], b[1]) || y >= max(a[1], b[1]) {
				continue
			}
			xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
		}
		sort.Float64s(xs)
		for k := 0; k+1 < len(xs); k += 2 {
			lo, hi := int(math.Ceil(xs[k])), int(math.Floor(xs[k+1]))
			lo, hi = max(lo, origin[0]), min(hi, origin[0]+m.W-1)
			for x := lo; x <= hi; x++ {
				set(x, origin[1]+row)
			}
		}
	}
	// The edges themselves: every pixel centre on one. The crossings above
	// miss some (a peak vertex, a horizontal edge); only rows of the mask are
	// walked, so a ring far outside the image costs nothing.
	for i := 0; i < n; i++ {
		a, b := ring[i], ring[(i+1)%n]
		ax, ay, bx, by := int(a[0]), int(a[1]), int(b[0]), int(b[1])
		if ay == by {
			if ay >= origin[1] && ay < origin[1]+m.H {
				for x := max(min(ax, bx), origin[0]); x <= min(max(ax, bx), origin[0]+m.W-1); x++ {
					set(x, ay)
				}
			}
			continue
		}
		dx, dy := bx-ax, by-ay
		for y := max(min(ay, by), origin[1]); y <= min(max(ay, by), origin[1]+m.H-1); y++ {
			if num := (y - ay) * dx; num%dy == 0 {
				set(ax+num/dy, y)
			}
		}
	}
}
