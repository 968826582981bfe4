package supervisely_test

import (
	"errors"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// TestTransformWithoutCropper: supervisely itself has no cgo; a Transform
// without a Cropper keeps a polygon and a line that lie inside as they are,
// and one crossing the border is an error naming the missing Cropper (not a
// label left out in silence).
func TestTransformWithoutCropper(t *testing.T) {
	tf := &sv.Transform{SrcW: 100, SrcH: 100, FX: 1, FY: 1, W: 100, H: 100}
	inside := []sv.Geometry{
		&sv.Polygon{Exterior: []sv.Pt{{10, 10}, {50, 10}, {50, 50}}},
		&sv.Line{Points: []sv.Pt{{0, 0}, {99, 99}}},
	}
	for _, g := range inside {
		got, err := g.Transform(tf)
		if err != nil || len(got) != 1 || got[0] != g {
			t.Errorf("%s inside: %v, %v; want it kept as it is", g.Type(), got, err)
		}
	}
	across := []sv.Geometry{
		&sv.Polygon{Exterior: []sv.Pt{{-10, 10}, {50, 10}, {50, 50}}},
		&sv.Line{Points: []sv.Pt{{0, 0}, {120, 99}}},
	}
	for _, g := range across {
		_, err := g.Transform(tf)
		if lo := (*sv.LeftOut)(nil); err == nil || errors.As(err, &lo) || !strings.Contains(err.Error(), "no Cropper") {
			t.Errorf("%s across the border without a Cropper: %v; want an error naming the Cropper", g.Type(), err)
		}
	}
}
