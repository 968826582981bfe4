package coco

import (
	"sort"

	sv "github.com/vpipe/vpipe/supervisely"
)

// FillPolygon rasterises a polygon exactly as the Supervisely SDK draws one
// (Polygon._draw_impl): OpenCV's fillPoly of the exterior with 1, then one
// fillPoly of all the holes with 0. fillPoly (integer vertices, 8-connected)
// draws every edge as a Bresenham line, then fills each row between pairs
// of edge crossings (even-odd), the crossings stepped down each edge in
// 16.16 fixed point; so a polygon takes the pixels its edges pass through,
// not only those whose centres are inside.
//
// Only the part inside a w×h image is made: the mask covers the exterior's
// box cut to the image, placed at origin; ok is false when nothing of the
// polygon is inside the image. (OpenCV first clips an edge that leaves the
// image, which can move its pixels; vpipe's labels are cropped to their
// image, so their edges never leave it.)
func FillPolygon(ext []sv.Pt, holes [][]sv.Pt, w, h int) (origin [2]int, m *sv.Mask, ok bool) {
	b := pointsBox(ext)
	x0, y0 := max(int(b[0]), 0), max(int(b[1]), 0)
	x1, y1 := min(int(b[2]), w-1), min(int(b[3]), h-1)
	if x0 > x1 || y0 > y1 {
		return origin, nil, false
	}
	c := canvas{origin: [2]int{x0, y0}, m: &sv.Mask{W: x1 - x0 + 1, H: y1 - y0 + 1}}
	c.m.Bits = make([]bool, c.m.W*c.m.H)
	c.fillPoly([][]sv.Pt{ext}, true)
	if len(holes) > 0 {
		c.fillPoly(holes, false)
	}
	return c.origin, c.m, true
}

func pointsBox(ps []sv.Pt) [4]float64 {
	b := [4]float64{ps[0][0], ps[0][1], ps[0][0], ps[0][1]}
	for _, p := range ps[1:] {
		b[0], b[1] = min(b[0], p[0]), min(b[1], p[1])
		b[2], b[3] = max(b[2], p[0]), max(b[3], p[1])
	}
	return b
}

// canvas is a mask placed at origin on the image; pixels outside it are not
// kept.
type canvas struct {
	origin [2]int
	m      *sv.Mask
}

func (c *canvas) set(x, y int, v bool) {
	x, y = x-c.origin[0], y-c.origin[1]
	if x >= 0 && y >= 0 && x < c.m.W && y < c.m.H {
		c.m.Bits[y*c.m.W+x] = v
	}
}

// hline sets pixels x1..x2 of row y.
func (c *canvas) hline(y, x1, x2 int, v bool) {
	if y < c.origin[1] || y >= c.origin[1]+c.m.H {
		return
	}
	for x := max(x1, c.origin[0]); x <= min(x2, c.origin[0]+c.m.W-1); x++ {
		c.set(x, y, v)
	}
}

const xyShift = 16 // OpenCV's fixed point for polygon edges

// edge is a non-horizontal polygon edge: rows y0 <= y < y1, x (16.16) at y0.
type edge struct {
	y0, y1 int
	x, dx  int64
}

// fillPoly is OpenCV's fillPoly for integer rings (shift 0, LINE_8): the
// rings' edges drawn as lines, then the rows filled between crossings.
func (c *canvas) fillPoly(rings [][]sv.Pt, v bool) {
	var edges []edge
	for _, ring := range rings {
		n := len(ring)
		for i := 0; i < n; i++ {
			p0, p1 := ring[(i+n-1)%n], ring[i]
			x0, y0, x1, y1 := int(p0[0]), int(p0[1]), int(p1[0]), int(p1[1])
			c.line(x0, y0, x1, y1, v)
			if y0 == y1 {
				continue
			}
			e := edge{y0: y0, y1: y1, x: int64(x0) << xyShift}
			if y1 < y0 {
				e = edge{y0: y1, y1: y0, x: int64(x1) << xyShift}
			}
			// Go's division truncates toward zero, as C's does.
			e.dx = (int64(x1-x0) << xyShift) / int64(y1-y0)
			edges = append(edges, e)
		}
	}
	if len(edges) < 2 {
		return
	}
	c.fillEdges(edges, v)
}

// fillEdges fills each row between pairs of the crossings of the edges that
// span it, sorted by x: from the first pixel at or right of one crossing to
// the last at or left of the next. A crossing is the edge's top x plus dx
// per row, as OpenCV steps it.
func (c *canvas) fillEdges(edges []edge, v bool) {
	top, bottom := edges[0].y0, edges[0].y1
	for _, e := range edges {
		top, bottom = min(top, e.y0), max(bottom, e.y1)
	}
	top, bottom = max(top, c.origin[1]), min(bottom, c.origin[1]+c.m.H)
	var xs []int64
	for y := top; y < bottom; y++ {
		xs = xs[:0]
		for _, e := range edges {
			if e.y0 <= y && y < e.y1 {
				xs = append(xs, e.x+int64(y-e.y0)*e.dx)
			}
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		for k := 0; k+1 < len(xs); k += 2 {
			x1 := int((xs[k] + 1<<xyShift - 1) >> xyShift)
			x2 := int(xs[k+1] >> xyShift)
			c.hline(y, x1, x2, v)
		}
	}
}

// line draws OpenCV's 8-connected line from (x0, y0) to (x1, y1)
// (LineIterator, left to right): one pixel per step along the longer axis,
// a step along the shorter one whenever the error went negative.
func (c *canvas) line(x0, y0, x1, y1 int, v bool) {
	if x1 < x0 {
		x0, y0, x1, y1 = x1, y1, x0, y0
	}
	dx, dy, sy := x1-x0, y1-y0, 1
	if dy < 0 {
		dy, sy = -dy, -1
	}
	major, minor := dx, dy
	stepMajor := func(x, y int) (int, int) { return x + 1, y }
	stepMinor := func(x, y int) (int, int) { return x, y + sy }
	if dy > dx {
		major, minor = dy, dx
		stepMajor, stepMinor = stepMinor, stepMajor
	}
	err := major - 2*minor
	x, y := x0, y0
	for i := 0; i <= major; i++ {
		c.set(x, y, v)
		neg := err < 0
		err -= 2 * minor
		x, y = stepMajor(x, y)
		if neg {
			err += 2 * major
			x, y = stepMinor(x, y)
		}
	}
}
