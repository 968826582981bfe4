package coco_test

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/vpipe/vpipe/formats"
	"github.com/vpipe/vpipe/formats/coco"
	"github.com/vpipe/vpipe/internal/testenv/pyenv"
	"github.com/vpipe/vpipe/internal/testenv/svframes"
	sv "github.com/vpipe/vpipe/supervisely"
)

// decodeRLE expands COCO's uncompressed RLE into a row-major w×h grid,
// following the format's definition (runs alternate 0 and 1 starting with
// 0, over the pixels taken column by column), not the encoder's code.
func decodeRLE(t *testing.T, raw json.RawMessage) (w, h int, grid []bool) {
	t.Helper()
	var r struct {
		Size   []int `json:"size"`
		Counts []int `json:"counts"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Size) != 2 {
		t.Fatalf("RLE %s: %v", raw, err)
	}
	h, w = r.Size[0], r.Size[1]
	grid = make([]bool, w*h)
	i, v := 0, false
	for _, n := range r.Counts {
		for k := 0; k < n; k++ {
			if i >= w*h {
				t.Fatalf("RLE counts add up to more than %d×%d", w, h)
			}
			grid[(i%h)*w+i/h] = v // pixel i of column-major order is (row i%h, col i/h)
			i++
		}
		v = !v
	}
	if i != w*h {
		t.Fatalf("RLE counts add up to %d, not %d×%d", i, w, h)
	}
	return w, h, grid
}

// placed is a mask placed at origin on a w×h image, row-major, cut to it.
func placed(w, h int, origin [2]int, m *sv.Mask) []bool {
	g := make([]bool, w*h)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			X, Y := origin[0]+x, origin[1]+y
			if X >= 0 && Y >= 0 && X < w && Y < h && m.Bits[y*m.W+x] {
				g[Y*w+X] = true
			}
		}
	}
	return g
}

// TestRLE: random masks anywhere on (and partly off) small images decode to
// themselves; stats are the set pixels' count and box.
func TestRLE(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 300; n++ {
		w, h := 1+rng.Intn(9), 1+rng.Intn(9)
		m := &sv.Mask{W: 1 + rng.Intn(6), H: 1 + rng.Intn(6)}
		m.Bits = make([]bool, m.W*m.H)
		for i := range m.Bits {
			m.Bits[i] = rng.Intn(3) == 0
		}
		origin := [2]int{rng.Intn(w+4) - 3, rng.Intn(h+4) - 3}
		rle, st := coco.EncodeRLE(w, h, origin, m)
		raw, _ := json.Marshal(rle)
		gw, gh, got := decodeRLE(t, raw)
		want := placed(w, h, origin, m)
		if gw != w || gh != h || !reflect.DeepEqual(got, want) {
			t.Fatalf("mask %dx%d at %v on %dx%d: RLE %v decodes to another mask", m.W, m.H, origin, w, h, rle.Counts)
		}
		area, box := int64(0), [4]int{w, h, -1, -1}
		for i, v := range want {
			if v {
				area++
				x, y := i%w, i/w
				box = [4]int{min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)}
			}
		}
		if st.Area != area || st.OK != (area > 0) || (area > 0 && st.Box != box) {
			t.Fatalf("stats %+v, want area %d box %v", st, area, box)
		}
	}
	// pycocotools' own example: the first run counts zeros, even when there are none.
	m := &sv.Mask{W: 1, H: 2, Bits: []bool{true, false}}
	if rle, _ := coco.EncodeRLE(2, 2, [2]int{0, 0}, m); fmt.Sprint(rle.Counts, rle.Size) != "[0 1 3] [2 2]" {
		t.Fatalf("counts %v size %v, want [0 1 3] [2 2]", rle.Counts, rle.Size)
	}
}

// TestFillPolygon: a polygon is filled as the SDK fills it: a box polygon is
// its inclusive rectangle, a hole takes its own edges with it, a triangle has
// its edges' pixels (TestFillPolygonIsOpenCVs holds many more against OpenCV).
func TestFillPolygon(t *testing.T) {
	rect := []sv.Pt{{2, 1}, {6, 1}, {6, 4}, {2, 4}}
	origin, m, ok := coco.FillPolygon(rect, nil, 10, 10)
	if !ok || origin != [2]int{2, 1} || m.W != 5 || m.H != 4 || count(m) != 20 {
		t.Fatalf("box polygon: origin %v %dx%d, %d pixels; want [2 1] 5x4, 20", origin, m.W, m.H, count(m))
	}
	_, m, _ = coco.FillPolygon(rect, [][]sv.Pt{{{3, 2}, {5, 2}, {5, 3}, {3, 3}}}, 10, 10)
	if count(m) != 20-6 {
		t.Fatalf("a 3×2 hole: %d pixels, want 14", count(m))
	}
	tri := []sv.Pt{{0, 0}, {4, 0}, {0, 4}}
	_, m, _ = coco.FillPolygon(tri, nil, 10, 10)
	if count(m) != 15 { // rows of 5, 4, 3, 2, 1 pixels: x+y <= 4
		t.Fatalf("triangle: %d pixels, want 15", count(m))
	}
	if _, _, ok := coco.FillPolygon([]sv.Pt{{20, 20}, {30, 20}, {30, 30}}, nil, 10, 10); ok {
		t.Fatal("a polygon outside the image filled something")
	}
	// Cut to the image: only the pixels inside are made.
	origin, m, _ = coco.FillPolygon([]sv.Pt{{-5, -5}, {4, -5}, {4, 4}, {-5, 4}}, nil, 3, 3)
	if origin != [2]int{0, 0} || count(m) != 9 {
		t.Fatalf("a box over the image: origin %v, %d pixels; want the 9 of a 3×3 image", origin, count(m))
	}
}

func count(m *sv.Mask) int {
	n := 0
	for _, v := range m.Bits {
		if v {
			n++
		}
	}
	return n
}

// TestProjectLabels converts every frame of the bundled project and checks
// each label's COCO object against the Supervisely label it came from.
func TestProjectLabels(t *testing.T) {
	meta := svframes.Meta(t)
	conv, err := coco.NewConverter(meta)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	skips := formats.Skips{}
	for _, f := range svframes.Frames(t) {
		ann, err := formats.ParseAnnotation(f.Ann)
		if err != nil {
			t.Fatal(err)
		}
		objs, sk, err := conv.Objects(ann)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		skips.Merge(sk)
		k := 0
		for i := range ann.Objects {
			l := &ann.Objects[i]
			kind := kindOf(l.Geometry)
			seen[kind]++
			switch kind {
			case "line", "point", "oriented_bbox":
				continue // left out: counted below
			}
			if k >= len(objs) {
				t.Fatalf("%s: label %d (%s) has no object", f.Name, i, kind)
			}
			checkObject(t, fmt.Sprintf("%s label %d (%s)", f.Name, i, kind), l, &objs[k], ann, meta)
			k++
		}
		if k != len(objs) {
			t.Fatalf("%s: %d objects for %d convertible labels", f.Name, len(objs), k)
		}
	}
	for _, kind := range []string{"rectangle", "polygon", "polygon with holes", "bitmap", "graph", "line", "point", "oriented_bbox"} {
		if seen[kind] == 0 {
			t.Errorf("the project's frames have no %s label: the test covers less than it says", kind)
		}
	}
	want := formats.Skips{{Class: "lane", Geometry: "line"}: seen["line"], {Class: "wheel", Geometry: "point"}: seen["point"], {Class: "sign", Geometry: "oriented_bbox"}: seen["oriented_bbox"]}
	if !reflect.DeepEqual(skips, want) {
		t.Errorf("skips %v, want %v", skips, want)
	}
}

func kindOf(g sv.Geometry) string {
	if p, ok := g.(*sv.Polygon); ok && len(p.Interior) > 0 {
		return "polygon with holes"
	}
	return g.Type()
}

// checkObject holds one object against its label.
func checkObject(t *testing.T, what string, l *sv.Label, o *coco.Object, ann *sv.ImageAnnotation, meta *sv.ProjectMeta) {
	t.Helper()
	if o.Category != l.ClassTitle || o.IsCrowd != 0 {
		t.Errorf("%s: category %q iscrowd %d, want %q 0", what, o.Category, o.IsCrowd, l.ClassTitle)
	}
	checkAttributes(t, what, l, o)
	switch g := l.Geometry.(type) {
	case *sv.Rectangle:
		want := [4]float64{g.Left, g.Top, g.Right - g.Left + 1, g.Bottom - g.Top + 1}
		if o.BBox != want || o.Area != int64(want[2]*want[3]) {
			t.Errorf("%s: bbox %v area %d, want %v %g", what, o.BBox, o.Area, want, want[2]*want[3])
		}
		wantSeg := fmt.Sprint([][]float64{{g.Left, g.Top, g.Right, g.Top, g.Right, g.Bottom, g.Left, g.Bottom}})
		if got := segPolys(t, o); fmt.Sprint(got) != wantSeg {
			t.Errorf("%s: segmentation %v, want %s", what, got, wantSeg)
		}
	case *sv.Polygon:
		checkPolygon(t, what, g, o, ann)
	case *sv.Bitmap:
		origin, m, err := g.Mask()
		if err != nil {
			t.Fatal(err)
		}
		w, h, grid := decodeRLE(t, o.Segmentation)
		if w != ann.Width || h != ann.Height || !reflect.DeepEqual(grid, placed(w, h, origin, m)) {
			t.Errorf("%s: the RLE is not the bitmap's mask", what)
		}
		want := [4]float64{float64(origin[0]), float64(origin[1]), float64(m.W), float64(m.H)}
		if o.BBox != want || o.Area != int64(count(m)) {
			t.Errorf("%s: bbox %v area %d, want %v %d", what, o.BBox, o.Area, want, count(m))
		}
	case *sv.Graph:
		checkGraph(t, what, g, o, meta.Class(l.ClassTitle))
	default:
		t.Errorf("%s: a %s became an object", what, g.Type())
	}
}

func checkAttributes(t *testing.T, what string, l *sv.Label, o *coco.Object) {
	t.Helper()
	want := map[string]any{}
	for _, tag := range l.Tags {
		var v any = true
		if len(tag.Value) > 0 {
			json.Unmarshal(tag.Value, &v)
		}
		want[tag.Name] = v
	}
	got := map[string]any{}
	for k, raw := range o.Attributes {
		var v any
		json.Unmarshal(raw, &v)
		got[k] = v
	}
	if _, ok := got["object_id"]; !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: attributes %v, want the tags %v (object_id among them)", what, got, want)
	}
}

func segPolys(t *testing.T, o *coco.Object) [][]float64 {
	t.Helper()
	var p [][]float64
	if err := json.Unmarshal(o.Segmentation, &p); err != nil {
		t.Fatalf("segmentation %s: %v", o.Segmentation, err)
	}
	return p
}

// checkPolygon: a plain polygon keeps its points; one with holes is an RLE of
// its exterior less its holes (each ring taken with its edge pixels).
func checkPolygon(t *testing.T, what string, g *sv.Polygon, o *coco.Object, ann *sv.ImageAnnotation) {
	t.Helper()
	xs, ys := []float64{}, []float64{}
	var flat []float64
	for _, p := range g.Exterior {
		xs, ys, flat = append(xs, p[0]), append(ys, p[1]), append(flat, p[0], p[1])
	}
	sort.Float64s(xs)
	sort.Float64s(ys)
	box := [4]float64{xs[0], ys[0], xs[len(xs)-1] - xs[0] + 1, ys[len(ys)-1] - ys[0] + 1}
	if len(g.Interior) == 0 {
		if got := segPolys(t, o); len(got) != 1 || !reflect.DeepEqual(got[0], flat) {
			t.Errorf("%s: segmentation %v, want the exterior %v", what, got, flat)
		}
		if o.BBox != box {
			t.Errorf("%s: bbox %v, want %v", what, o.BBox, box)
		}
		return
	}
	w, h, grid := decodeRLE(t, o.Segmentation)
	area := 0
	for _, v := range grid {
		if v {
			area++
		}
	}
	if w != ann.Width || h != ann.Height || int64(area) != o.Area {
		t.Errorf("%s: RLE %dx%d of %d pixels, area %d", what, w, h, area, o.Area)
	}
	// The bundled hole is axis-aligned: pixels in the exterior's box, not in
	// the hole's box (the SDK's fillPoly takes both rings' edges).
	hb := formats.PointsBox(g.Interior[0])
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			X, Y := float64(x), float64(y)
			in := X >= box[0] && X < box[0]+box[2] && Y >= box[1] && Y < box[1]+box[3] &&
				!(X >= hb.Left && X <= hb.Right && Y >= hb.Top && Y <= hb.Bottom)
			if grid[y*w+x] != in {
				t.Fatalf("%s: pixel (%d, %d) is %v in the RLE, want %v", what, x, y, grid[y*w+x], in)
			}
		}
	}
}

// checkGraph: keypoints follow the class's node template; disabled or
// missing nodes are 0, 0, 0.
func checkGraph(t *testing.T, what string, g *sv.Graph, o *coco.Object, class *sv.ObjClass) {
	t.Helper()
	tpl, err := formats.ParseTemplate(class.GeometryConfig)
	if err != nil || tpl == nil {
		t.Fatalf("%s: template: %v", what, err)
	}
	var want []float64
	visible := 0
	for _, id := range tpl.IDs {
		var kp []float64
		for _, n := range g.Nodes {
			if n.ID == id && !n.Disabled {
				kp = []float64{n.Loc[0], n.Loc[1], 2}
				visible++
			}
		}
		if kp == nil {
			kp = []float64{0, 0, 0}
		}
		want = append(want, kp...)
	}
	if !reflect.DeepEqual(o.Keypoints, want) || o.NumKeypoints == nil || *o.NumKeypoints != visible {
		t.Errorf("%s: keypoints %v (%v visible), want %v (%d)", what, o.Keypoints, o.NumKeypoints, want, visible)
	}
	b := formats.GraphBox(g)
	if o.BBox != [4]float64{b.Left, b.Top, b.W(), b.H()} {
		t.Errorf("%s: bbox %v, want the nodes' box %+v", what, o.BBox, b)
	}
}

// TestAssemble: ids in entry order, categories from the meta's class order
// with the graph class's keypoints and 1-based skeleton.
func TestAssemble(t *testing.T) {
	meta := svframes.Meta(t)
	two := 2
	entries := []coco.Entry{
		{Image: coco.Image{FileName: "ds0/a.mp4/a_0.png", Width: 4, Height: 3}, Objects: []coco.Object{
			{Category: "car", Segmentation: json.RawMessage("[]"), BBox: [4]float64{0, 0, 1, 1}, Area: 1},
			{Category: "person", Segmentation: json.RawMessage("[]"), Keypoints: []float64{1, 1, 2, 2, 2, 2}, NumKeypoints: &two},
		}},
		{Image: coco.Image{FileName: "ds0/a.mp4/a_1.png", Width: 4, Height: 3}},
		{Image: coco.Image{FileName: "ds0/b.mp4/b_0.png", Width: 4, Height: 3}, Objects: []coco.Object{
			{Category: "puddle", Segmentation: json.RawMessage(`{"size":[3,4],"counts":[12]}`)},
		}},
	}
	b, err := coco.Assemble(meta, "train", entries)
	if err != nil {
		t.Fatal(err)
	}
	var f coco.File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range f.Images {
		got = append(got, fmt.Sprintf("%d:%s", im.ID, im.FileName))
	}
	for _, a := range f.Annotations {
		got = append(got, fmt.Sprintf("a%d:i%d:c%d", a.ID, a.ImageID, a.CategoryID))
	}
	want := "[1:ds0/a.mp4/a_0.png 2:ds0/a.mp4/a_1.png 3:ds0/b.mp4/b_0.png a1:i1:c1 a2:i1:c6 a3:i3:c5]"
	if fmt.Sprint(got) != want {
		t.Fatalf("ids %v, want %s", got, want)
	}
	if len(f.Categories) != len(meta.Classes) {
		t.Fatalf("%d categories for %d classes", len(f.Categories), len(meta.Classes))
	}
	for i, c := range f.Categories {
		if c.ID != i+1 || c.Name != meta.Classes[i].Title {
			t.Errorf("category %d: %+v, want id %d %q", i, c, i+1, meta.Classes[i].Title)
		}
	}
	if p := f.Categories[5]; fmt.Sprint(p.Keypoints, p.Skeleton) != "[head foot] [[1 2]]" {
		t.Errorf("person: keypoints %v skeleton %v, want [head foot] [[1 2]]", p.Keypoints, p.Skeleton)
	}
	again, _ := coco.Assemble(meta, "train", entries)
	if string(again) != string(b) {
		t.Fatal("the same entries made other bytes")
	}
	if _, err := coco.Assemble(meta, "train", []coco.Entry{{Objects: []coco.Object{{Category: "nope"}}}}); err == nil {
		t.Fatal("an object of a class the meta lacks was assembled")
	}
}

// TestFillPolygonIsOpenCVs: random polygons (convex, concave, self-crossing,
// with holes, touching the border) fill the pixels OpenCV's fillPoly fills
// when the SDK draws them, compared in Python.
func TestFillPolygonIsOpenCVs(t *testing.T) {
	pyenv.Python(t)
	const w, h = 48, 36
	rng := rand.New(rand.NewSource(7))
	ring := func(n, x0, y0, x1, y1 int) []sv.Pt {
		r := make([]sv.Pt, n)
		for i := range r {
			r[i] = sv.Pt{float64(x0 + rng.Intn(x1-x0+1)), float64(y0 + rng.Intn(y1-y0+1))}
		}
		return r
	}
	type tc struct {
		Exterior []sv.Pt   `json:"exterior"`
		Interior [][]sv.Pt `json:"interior"`
		Mask     string    `json:"mask"`
	}
	var cases []tc
	for i := 0; i < 400; i++ {
		c := tc{Exterior: ring(3+rng.Intn(8), 0, 0, w-1, h-1), Interior: [][]sv.Pt{}}
		for k := rng.Intn(3); k > 0; k-- {
			c.Interior = append(c.Interior, ring(3+rng.Intn(4), 5, 5, w-6, h-6))
		}
		origin, m, ok := coco.FillPolygon(c.Exterior, c.Interior, w, h)
		grid := make([]byte, w*h)
		for j := range grid {
			grid[j] = '0'
		}
		if ok {
			for j, v := range placed(w, h, origin, m) {
				if v {
					grid[j] = '1'
				}
			}
		}
		c.Mask = string(grid)
		cases = append(cases, c)
	}
	b, _ := json.Marshal(map[string]any{"w": w, "h": h, "cases": cases})
	path := filepath.Join(t.TempDir(), "cases.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Cases      int
		Mismatches []struct{ Case, Pixels int }
	}
	out := pyenv.Run(t, "testdata/fillpoly.py", path)
	if err := json.Unmarshal(out, &res); err != nil || res.Cases != len(cases) {
		t.Fatalf("%s: %v", out, err)
	}
	for _, m := range res.Mismatches {
		c := cases[m.Case]
		t.Errorf("case %d (exterior %v, holes %v): %d pixels differ from OpenCV's", m.Case, c.Exterior, c.Interior, m.Pixels)
	}
}

// Issue 18 review: a label COCO could carry but leaves out says why: a
// polygon wholly outside the image, a graph whose class has no node
// template; a point, that COCO cannot carry a point (no reason given).
func TestSkipsSayWhy(t *testing.T) {
	var meta sv.ProjectMeta
	if err := json.Unmarshal([]byte(`{"classes":[
		{"title":"road","shape":"polygon","color":"#00FF00","geometry_config":{}},
		{"title":"hand","shape":"graph","color":"#FF0000","geometry_config":null},
		{"title":"dot","shape":"point","color":"#0000FF","geometry_config":{}}],"tags":[]}`), &meta); err != nil {
		t.Fatal(err)
	}
	conv, err := coco.NewConverter(&meta)
	if err != nil {
		t.Fatal(err)
	}
	ann, err := formats.ParseAnnotation(json.RawMessage(`{"size":{"width":100,"height":100},"tags":[],"objects":[
		{"classTitle":"road","geometryType":"polygon","points":{"exterior":[[200,200],[220,200],[220,220]],"interior":[]},"tags":[]},
		{"classTitle":"hand","geometryType":"graph","nodes":{"a":{"loc":[1,2]}},"tags":[]},
		{"classTitle":"dot","geometryType":"point","points":{"exterior":[[5,5]],"interior":[]},"tags":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	objs, skips, err := conv.Objects(ann)
	if err != nil || len(objs) != 0 {
		t.Fatalf("%v: %d objects", err, len(objs))
	}
	want := formats.Skips{
		{Class: "road", Geometry: "polygon", Why: formats.WhyOutside}:  1,
		{Class: "hand", Geometry: "graph", Why: formats.WhyNoTemplate}: 1,
		{Class: "dot", Geometry: "point"}:                              1,
	}
	if !reflect.DeepEqual(skips, want) {
		t.Errorf("skips %v, want %v", skips, want)
	}
}
