package supervisely

import "math"

// The SDK works in integer pixels: every coordinate it reads goes through
// PointLocation, whose constructor floors row and column (reference §5). So
// do the rectangle's corners (floored after they are sorted into min and max),
// every polygon vertex including its holes, every line point, the point, each
// graph node's loc and a bitmap's origin. This happens as the geometry is
// built from JSON, before any resize, rotation or crop; local project files and
// the server's video annotations (sent as they are stored, without the
// subpixel shift of image annotations, §2.3) are read alike. vpipe floors at
// the same place, in ParseGeometry, after the ±2^30 check, so that every later
// step starts from the SDK's integers.

// pixel floors a point read from JSON to the SDK's integer pixel. Adding 0
// turns a -0 (from "-0.0" in the input) into the 0 the SDK writes.
func pixel(p Pt) Pt { return Pt{math.Floor(p[0]) + 0, math.Floor(p[1]) + 0} }

// pixels floors a slice of points in place and returns it.
func pixels(ps []Pt) []Pt {
	for i := range ps {
		ps[i] = pixel(ps[i])
	}
	return ps
}

// padRing repeats a ring's last point until it has 3, as the SDK's Polygon
// constructor does (with a warning) for the exterior and each hole (§5).
func padRing(r []Pt) []Pt {
	for len(r) > 0 && len(r) < 3 {
		r = append(r, r[len(r)-1])
	}
	return r
}
