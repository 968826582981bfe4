package crop_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

// piecesJSON is what the pieces write as their "points" ([x, y] = [col, row]).
func piecesJSON(t *testing.T, gs []sv.Geometry) string {
	t.Helper()
	var out []string
	for _, g := range gs {
		b, err := json.Marshal(sv.Label{ClassTitle: "c", Geometry: g})
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Type   string          `json:"geometryType"`
			Points json.RawMessage `json:"points"`
		}
		json.Unmarshal(b, &l)
		out = append(out, l.Type+" "+string(l.Points))
	}
	return strings.Join(out, "\n")
}

// TestCropAsThePlatform: polygons and lines cropped to a 100x100 image (last
// pixel 99) as the SDK's Label.crop → Polygon.crop / Polyline.crop does
// (reference §5): a label whose points all lie inside is kept as it is;
// otherwise shapely (GEOS) intersects the polygon's buffer(0), or the line,
// with Polygon([(0,0),(0,w-1),(h-1,w-1),(h-1,0)]) in (row, col), and every
// polygon / line string of the result is one label. Polygon vertices are then
// rounded half to even (row_col_list_to_points(do_round=True)), line vertices
// floored (PointLocation); lower-dimensional results (a polygon that only
// touches the image) are dropped, and so is a polygon piece of no area once
// rounded (vpipe's one departure: the SDK keeps it).
//
// The pieces and their vertices are derived by hand; the order of the pieces
// and each ring's start point and orientation are GEOS's (a shell clockwise and
// a hole counter-clockwise in its (row, col) plane, i.e. the other way round in
// (x, y)), cross-checked once against the SDK's own crop code on shapely 1.8.5
// with GEOS 3.11.1 (testdata/sdkcrop.py; it agreed on these and on 600 random
// polygons and lines, and is not run by the tests).
func TestCropAsThePlatform(t *testing.T) {
	for _, c := range []struct {
		name, typ, points, want string
	}{
		{"concave U split in two by the top border: two polygons, no joint along y=0",
			"polygon", `{"exterior":[[10,-20],[90,-20],[90,50],[70,50],[70,-10],[30,-10],[30,50],[10,50]],"interior":[]}`,
			"polygon {\"exterior\":[[90,50],[70,50],[70,0],[90,0]],\"interior\":[]}\n" +
				"polygon {\"exterior\":[[30,50],[10,50],[10,0],[30,0]],\"interior\":[]}"},
		{"a hole stays with the piece that holds it",
			"polygon", `{"exterior":[[10,-20],[90,-20],[90,50],[70,50],[70,-10],[30,-10],[30,50],[10,50]],"interior":[[[15,20],[25,20],[25,30],[15,30]]]}`,
			"polygon {\"exterior\":[[90,50],[70,50],[70,0],[90,0]],\"interior\":[]}\n" +
				"polygon {\"exterior\":[[30,50],[10,50],[10,0],[30,0]],\"interior\":[[[15,30],[25,30],[25,20],[15,20]]]}"},
		{"a hole cut by the border becomes a notch in the exterior",
			"polygon", `{"exterior":[[-20,10],[50,10],[50,60],[-20,60]],"interior":[[[-10,20],[20,20],[20,40],[-10,40]]]}`,
			`polygon {"exterior":[[50,10],[50,60],[0,60],[0,40],[20,40],[20,20],[0,20],[0,10]],"interior":[]}`},
		{"a hole inside is kept, in GEOS's orientation",
			"polygon", `{"exterior":[[-20,10],[50,10],[50,60],[-20,60]],"interior":[[[10,20],[20,20],[20,40],[10,40]]]}`,
			`polygon {"exterior":[[50,10],[50,60],[0,60],[0,10]],"interior":[[[10,40],[20,40],[20,20],[10,20]]]}`},
		// (95,24)→(103,27) meets x=99 at y=25.5 and (103,27)→(95,30) at y=28.5:
		// half to even gives 26 and 28 (flooring gave 25, half up would give 29).
		{"x.5 intersections: polygon vertices rounded half to even",
			"polygon", `{"exterior":[[60,10],[95,24],[103,27],[95,30],[60,50]],"interior":[]}`,
			`polygon {"exterior":[[95,24],[99,26],[99,28],[95,30],[60,50],[60,10]],"interior":[]}`},
		{"x.5 intersections: line vertices floored, and the line leaves and comes back: two lines",
			"line", `{"exterior":[[60,10],[95,24],[103,27],[95,30],[60,50]],"interior":[]}`,
			"line {\"exterior\":[[60,10],[95,24],[99,25]],\"interior\":[]}\n" +
				"line {\"exterior\":[[99,28],[95,30],[60,50]],\"interior\":[]}"},
		// (10,10)→(120,30) leaves at x=99, y=10+20·89/110=26.18; (120,60)→(10,80)
		// comes back at y=60+20·21/110=63.82.
		{"a polyline leaving and re-entering: two lines, points floored",
			"line", `{"exterior":[[10,10],[120,30],[120,60],[10,80]],"interior":[]}`,
			"line {\"exterior\":[[10,10],[99,26]],\"interior\":[]}\n" +
				"line {\"exterior\":[[99,63],[10,80]],\"interior\":[]}"},
		{"an edge lying on the border is kept; the other side is cut at x=99",
			"polygon", `{"exterior":[[0,10],[120,10],[120,40],[0,40]],"interior":[]}`,
			`polygon {"exterior":[[99,10],[99,40],[0,40],[0,10]],"interior":[]}`},
		{"a line along the border is kept on it",
			"line", `{"exterior":[[0,-10],[0,50]],"interior":[]}`,
			`line {"exterior":[[0,0],[0,50]],"interior":[]}`},
		{"a polygon outside that only touches the border along an edge: its intersection is a line, dropped",
			"polygon", `{"exterior":[[-20,10],[0,10],[0,40],[-20,40]],"interior":[]}`, ""},
		// inside the image the triangle is 2x+3y <= 1: (0,0), (0.5,0), (0,0.33),
		// which rounds to (0,0) three times; the SDK keeps [[0,0],[0,0],[0,0]],
		// vpipe drops a piece that has no area once rounded
		{"a piece that rounds to no area is dropped",
			"polygon", `{"exterior":[[-4,3],[5,-3],[-4,-3]],"interior":[]}`, ""},
		// 2x+3y = 1 inside the image: (0,0.33) to (0.5,0), floored to (0,0) twice
		{"a line piece that floors to one point is kept, as the SDK keeps it",
			"line", `{"exterior":[[-1,1],[2,-1]],"interior":[]}`,
			`line {"exterior":[[0,0],[0,0]],"interior":[]}`},
		{"a polygon fully outside is dropped",
			"polygon", `{"exterior":[[120,10],[150,10],[150,40]],"interior":[]}`, ""},
		{"a zero-area sliver (collinear points) across the border: buffer(0) is empty, dropped",
			"polygon", `{"exterior":[[-10,10],[50,10],[20,10]],"interior":[]}`, ""},
		// (50,50)→(-10,0) meets x=0 at y=8.33
		{"a hole of no area vanishes in buffer(0)",
			"polygon", `{"exterior":[[-10,0],[50,0],[50,50]],"interior":[[[5,5],[6,6],[5,5]]]}`,
			`polygon {"exterior":[[50,0],[50,50],[0,8],[0,0]],"interior":[]}`},
		{"a polygon inside is kept as it is, even unclosed and self-intersecting",
			"polygon", `{"exterior":[[10,10],[50,50],[50,10],[10,50]],"interior":[]}`,
			`polygon {"exterior":[[10,10],[50,50],[50,10],[10,50]],"interior":[]}`},
	} {
		g, err := sv.ParseGeometry(c.typ, map[string]json.RawMessage{"points": json.RawMessage(c.points)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pieces, err := g.Transform(&sv.Transform{SrcW: 100, SrcH: 100, FX: 1, FY: 1, W: 100, H: 100, Crop: crop.GEOS{}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := piecesJSON(t, pieces); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// Cost of one crop through GEOS (a label crossing the border; one inside costs
// only the bounds check). go test -bench Crop -run ^$ ./supervisely/crop/
func BenchmarkCrop(b *testing.B) {
	u := &sv.Polygon{Exterior: []sv.Pt{{10, -20}, {90, -20}, {90, 50}, {70, 50}, {70, -10}, {30, -10}, {30, 50}, {10, 50}}}
	circle := &sv.Polygon{}
	for i := 0; i < 64; i++ {
		a := 2 * math.Pi * float64(i) / 64
		circle.Exterior = append(circle.Exterior, sv.Pt{float64(int(90 + 40*math.Cos(a))), float64(int(50 + 40*math.Sin(a)))})
	}
	line := &sv.Line{Points: []sv.Pt{{10, 10}, {120, 30}, {120, 60}, {10, 80}}}
	tf := &sv.Transform{FX: 1, FY: 1, W: 100, H: 100, Crop: crop.GEOS{}}
	for _, c := range []struct {
		name string
		g    sv.Geometry
	}{{"polygon-U-8pts", u}, {"polygon-circle-64pts", circle}, {"line-4pts", line}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.g.Transform(tf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
