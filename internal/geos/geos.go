// Package geos runs the two GEOS overlays vpipe needs to crop labels as the
// Supervisely SDK does through shapely (which is GEOS): a polygon, optionally
// through buffer(0), intersected with a window polygon, and a line string
// intersected with it. All cgo and C memory of this is here; results come back
// as Go slices, in the order GEOS gives them.
//
// GEOS contexts are not safe for concurrent use: each call takes one from a
// pool (made on demand, kept for later calls), so calls from many goroutines
// run in parallel, each on its own context.
package geos

/*
#cgo pkg-config: geos
#include <stdlib.h>
#include "geos.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// XY is a point as GEOS sees it.
type XY [2]float64

// Polygon is a result polygon: its shell, then its holes; every ring closed
// (the last point repeats the first), each in GEOS's orientation and with its
// start point.
type Polygon [][]XY

var pool struct {
	sync.Mutex
	free []*C.vp_ctx
}

func get() (*C.vp_ctx, error) {
	pool.Lock()
	if n := len(pool.free); n > 0 {
		c := pool.free[n-1]
		pool.free = pool.free[:n-1]
		pool.Unlock()
		return c, nil
	}
	pool.Unlock()
	c := C.vp_new()
	if c == nil {
		return nil, errors.New("GEOS: cannot make a context")
	}
	return c, nil
}

func put(c *C.vp_ctx) {
	pool.Lock()
	pool.free = append(pool.free, c)
	pool.Unlock()
}

// flat lays rings out as C doubles (in C memory: the call keeps no Go pointer).
func flat(rings ...[]XY) (*C.double, func()) {
	n := 0
	for _, r := range rings {
		n += 2 * len(r)
	}
	p := (*C.double)(C.malloc(C.size_t(max(n, 1)) * C.size_t(unsafe.Sizeof(C.double(0)))))
	s := unsafe.Slice(p, max(n, 1))
	i := 0
	for _, r := range rings {
		for _, q := range r {
			s[i], s[i+1] = C.double(q[0]), C.double(q[1])
			i += 2
		}
	}
	return p, func() { C.free(unsafe.Pointer(p)) }
}

func checkRing(what string, r []XY, min int) error {
	if len(r) < min {
		return fmt.Errorf("%s has %d points, GEOS needs at least %d", what, len(r), min)
	}
	return nil
}

// ClipPolygon intersects the polygon of rings (shell first, then holes; each
// closed) with the polygon window (closed), after buffer(0) (quadrant segments
// 16, shapely's default) when buffer0 is set, and returns the polygons of the
// result in GEOS's order: lower-dimensional parts (where the polygon only
// touches the window) are not returned. An invalid ring is GEOS's error.
func ClipPolygon(rings [][]XY, window []XY, buffer0 bool) ([]Polygon, error) {
	if len(rings) == 0 {
		return nil, errors.New("a polygon needs a shell")
	}
	if err := checkRing("the window", window, 4); err != nil {
		return nil, err
	}
	c, err := get()
	if err != nil {
		return nil, err
	}
	defer put(c)
	xy, freeXY := flat(rings...)
	defer freeXY()
	win, freeWin := flat(window)
	defer freeWin()
	lens := (*C.int)(C.malloc(C.size_t(len(rings)) * C.size_t(unsafe.Sizeof(C.int(0)))))
	defer C.free(unsafe.Pointer(lens))
	for i, r := range rings {
		unsafe.Slice(lens, len(rings))[i] = C.int(len(r))
	}
	b := C.int(0)
	if buffer0 {
		b = 1
	}
	var out C.vp_out
	defer C.vp_out_free(&out)
	if C.vp_clip_polygon(c, xy, lens, C.int(len(rings)), b, win, C.int(len(window)), &out) != 0 {
		return nil, fmt.Errorf("GEOS: %s", C.GoString(C.vp_err(c)))
	}
	ix, pts := view(&out)
	var res []Polygon
	k, j := 0, 0
	for p := 0; p < int(out.pieces); p++ {
		nr := ix[k]
		k++
		poly := make(Polygon, nr)
		for r := range poly {
			poly[r], j = take(pts, j, ix[k])
			k++
		}
		res = append(res, poly)
	}
	return res, nil
}

// ClipLine intersects the line string with the polygon window (closed) and
// returns the line strings of the result in GEOS's order (points where the
// line only touches the window are not returned).
func ClipLine(line []XY, window []XY) ([][]XY, error) {
	if err := checkRing("the line", line, 2); err != nil {
		return nil, err
	}
	if err := checkRing("the window", window, 4); err != nil {
		return nil, err
	}
	c, err := get()
	if err != nil {
		return nil, err
	}
	defer put(c)
	xy, freeXY := flat(line)
	defer freeXY()
	win, freeWin := flat(window)
	defer freeWin()
	var out C.vp_out
	defer C.vp_out_free(&out)
	if C.vp_clip_line(c, xy, C.int(len(line)), win, C.int(len(window)), &out) != 0 {
		return nil, fmt.Errorf("GEOS: %s", C.GoString(C.vp_err(c)))
	}
	ix, pts := view(&out)
	var res [][]XY
	j := 0
	for p := 0; p < int(out.pieces); p++ {
		var l []XY
		l, j = take(pts, j, ix[p])
		res = append(res, l)
	}
	return res, nil
}

// view looks at the C result without copying; take copies out of it.
func view(o *C.vp_out) ([]C.int, []C.double) {
	var ix []C.int
	var xy []C.double
	if o.nix > 0 {
		ix = unsafe.Slice(o.ix, int(o.nix))
	}
	if o.nxy > 0 {
		xy = unsafe.Slice(o.xy, int(o.nxy))
	}
	return ix, xy
}

func take(xy []C.double, j int, n C.int) ([]XY, int) {
	r := make([]XY, int(n))
	for i := range r {
		r[i] = XY{float64(xy[j]), float64(xy[j+1])}
		j += 2
	}
	return r, j
}

// Version is the GEOS library's version string.
func Version() string { return C.GoString(C.vp_version()) }
