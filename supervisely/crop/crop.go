// Package crop crops polygon and line labels that cross the image's border
// as the Supervisely SDK does, through GEOS (internal/geos, cgo). It is kept
// apart from supervisely, which has no cgo: supervisely.Transform keeps a
// label that lies inside as it is and hands one that crosses the border to a
// supervisely.Cropper, and GEOS is the one the pipeline (stages) gives it.
package crop

import (
	"fmt"
	"math"

	"github.com/vpipe/vpipe/internal/geos"
	sv "github.com/vpipe/vpipe/supervisely"
)

// The SDK crops polygons and lines with shapely (Polygon.crop, Polyline.crop;
// reference §5), and shapely is GEOS: vpipe calls GEOS the same way, so the
// pieces, their order, each ring's orientation and start point are the
// platform's. Shapely gets the SDK's points as (row, col), so GEOS's x is the
// row: the window and every point are handed over swapped.

// GEOS is the supervisely.Cropper that crops as the SDK does. It holds
// nothing: GEOS contexts are pooled per call (internal/geos), so one GEOS
// serves any number of goroutines.
type GEOS struct{}

var _ sv.Cropper = GEOS{}

// window is Rectangle(0, 0, h-1, w-1) as the SDK hands it to shapely:
// (top,left), (top,right), (bottom,right), (bottom,left), closed.
func window(w, h int) []geos.XY {
	r, c := float64(h-1), float64(w-1)
	return []geos.XY{{0, 0}, {0, c}, {r, c}, {r, 0}, {0, 0}}
}

func toRowCol(ps []sv.Pt) []geos.XY {
	out := make([]geos.XY, len(ps))
	for i, p := range ps {
		out[i] = geos.XY{p[1], p[0]}
	}
	return out
}

// shapelyRing is a ring as Polygon(...) gets it from the SDK: padded to 3
// points by repeating the last (the SDK's Polygon constructor), in (row, col),
// closed by repeating the first point unless it is closed already (shapely).
func shapelyRing(ps []sv.Pt) []geos.XY {
	r := toRowCol(ps)
	for len(r) > 0 && len(r) < 3 {
		r = append(r, r[len(r)-1])
	}
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// openRing drops the closing point (conversions._clear_dupe_start_end_boundary).
func openRing(r []geos.XY) []geos.XY {
	if len(r) >= 2 && r[0] == r[len(r)-1] {
		return r[:len(r)-1]
	}
	return r
}

// roundPts is row_col_list_to_points(..., do_round=True): Python's round (half
// to even) on row and column, back to [x, y].
func roundPts(r []geos.XY) []sv.Pt {
	out := make([]sv.Pt, len(r))
	for i, q := range r {
		out[i] = sv.Pt{math.RoundToEven(q[1]) + 0, math.RoundToEven(q[0]) + 0}
	}
	return out
}

// floorPts is row_col_list_to_points without rounding: PointLocation floors.
func floorPts(r []geos.XY) []sv.Pt {
	out := make([]sv.Pt, len(r))
	for i, q := range r {
		out[i] = sv.Pt{math.Floor(q[1]) + 0, math.Floor(q[0]) + 0}
	}
	return out
}

// CropPolygon is Label.crop + Polygon.crop at a w×h image for a polygon whose
// exterior does not lie inside (one that does is kept as it is, by
// supervisely.Transform, without asking GEOS): its buffer(0) is intersected with the
// image rectangle and every polygon of the result becomes one polygon, in
// GEOS's order, exterior and holes rounded half to even (holes of fewer than 3
// points dropped). Where the polygon only touches the image (a line or a point
// in common) nothing is left. A polygon GEOS refuses is left out, as the SDK
// drops it with a warning.
//
// One departure: a piece whose exterior has no area once rounded (a sliver
// thinner than half a pixel, e.g. all its vertices rounding to one point) is
// dropped, where the SDK would keep a polygon such as [[0,0],[0,0],[0,0]]: a
// polygon label of no area is what the crop is meant to remove (issue 9). Line
// pieces are kept as the SDK keeps them, even two equal points once floored.
func (GEOS) CropPolygon(p *sv.Polygon, w, h int) ([]sv.Geometry, error) {
	rings := [][]geos.XY{shapelyRing(p.Exterior)}
	for _, hole := range p.Interior {
		rings = append(rings, shapelyRing(hole))
	}
	res, err := geos.ClipPolygon(rings, window(w, h), true)
	if err != nil {
		return nil, &sv.LeftOut{Err: fmt.Errorf("cropping the polygon to %dx%d: %w", w, h, err)}
	}
	var out []sv.Geometry
	for _, piece := range res {
		ext := openRing(piece[0])
		if len(ext) < 3 {
			continue
		}
		q := &sv.Polygon{Exterior: roundPts(ext)}
		if area2(q.Exterior) == 0 {
			continue // no area left once rounded (the SDK would keep it)
		}
		for _, hole := range piece[1:] {
			if hole = openRing(hole); len(hole) > 2 {
				q.Interior = append(q.Interior, roundPts(hole))
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// CropLine is Label.crop + Polyline.crop at a w×h image for a line with a
// point outside (one inside is kept as it is, by supervisely.Transform): it is
// intersected with the image rectangle, each line
// string of the result is one line (where one starts at the very point the
// previous one ends they are joined, the SDK's "combine consecutive segments"),
// its points floored. Points where the line only touches the image are no
// line. An error from GEOS is an error, as the SDK raises it.
func (GEOS) CropLine(l *sv.Line, w, h int) ([]sv.Geometry, error) {
	res, err := geos.ClipLine(toRowCol(l.Points), window(w, h))
	if err != nil {
		return nil, fmt.Errorf("cropping the line to %dx%d: %w", w, h, err)
	}
	var joined [][]geos.XY
	for _, s := range res {
		if n := len(joined); n > 0 {
			prev := joined[n-1]
			if prev[len(prev)-1] == s[0] {
				joined[n-1] = append(prev, s[1:]...)
				continue
			}
		}
		joined = append(joined, s)
	}
	out := make([]sv.Geometry, len(joined))
	for i, s := range joined {
		out[i] = &sv.Line{Points: floorPts(s)}
	}
	return out, nil
}

// area2 is twice the signed area of a ring (shoelace).
func area2(r []sv.Pt) float64 {
	a := 0.0
	for i := range r {
		p, q := r[i], r[(i+1)%len(r)]
		a += p[0]*q[1] - q[0]*p[1]
	}
	return a
}
