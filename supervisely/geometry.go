package supervisely

import (
	"encoding/json"
	"fmt"
	"math"
)

// Geometry types vpipe transforms; any other name is carried as Unknown.
const (
	TypeRectangle = "rectangle"
	TypePolygon   = "polygon"
	TypeLine      = "line"
	TypePoint     = "point"
	TypeBitmap    = "bitmap"
	TypeGraph     = "graph"
)

// Pt is a point as JSON writes it: [x, y] = [col, row].
type Pt [2]float64

// Geometry is one shape in pixel coordinates.
type Geometry interface {
	Type() string
	// keys are the geometry's JSON keys in order (e.g. "points").
	keys(o *object) error
	// Transform takes the geometry to the output image (see Transform); none,
	// one or several pieces remain. A *LeftOut error means this geometry cannot
	// be carried over; any other error means it is invalid.
	Transform(t *Transform) ([]Geometry, error)
}

// Transform takes a geometry from the frame it was drawn on (SrcW×SrcH) to an
// output image of W×H: turned clockwise by Turn degrees (0, 90, 180 or 270),
// scaled by FX on columns (x) and FY on rows (y), each coordinate rounded half
// to even (no rounding when both are 1), then cropped to the image; Crop
// crops the polygons and lines that cross the image's border.
type Transform struct {
	SrcW, SrcH int
	Turn       int
	FX, FY     float64
	W, H       int
	Crop       Cropper
}

func (t *Transform) identity() bool { return t.Turn == 0 && t.FX == 1 && t.FY == 1 }

// Apply takes g to the output image in the SDK's order. The SDK builds each
// frame's Annotation at the video's size, which crops every label to the frame
// (Annotation.__init__, reference §5), and only that annotation is resized
// (Annotation.resize, then the crop at the new size). So when the image is
// scaled, g is first turned and cropped to the (turned) frame, and each piece
// is then scaled and cropped to the image: a point or a graph node outside the
// frame is gone before a downscale could round it back in, and a polygon's
// border vertices are rounded at the frame before they are scaled. Without
// scaling the two crops are one.
func (t *Transform) Apply(g Geometry) ([]Geometry, error) {
	if t.FX == 1 && t.FY == 1 {
		return g.Transform(t)
	}
	fw, fh := t.SrcW, t.SrcH
	if t.Turn == 90 || t.Turn == 270 {
		fw, fh = fh, fw
	}
	frame := &Transform{SrcW: t.SrcW, SrcH: t.SrcH, Turn: t.Turn, FX: 1, FY: 1, W: fw, H: fh, Crop: t.Crop}
	scale := &Transform{SrcW: fw, SrcH: fh, FX: t.FX, FY: t.FY, W: t.W, H: t.H, Crop: t.Crop}
	pieces, err := g.Transform(frame)
	if err != nil {
		return nil, err
	}
	var out []Geometry
	for _, p := range pieces {
		q, err := p.Transform(scale)
		if err != nil {
			return nil, err
		}
		out = append(out, q...)
	}
	return out, nil
}

// pt turns and scales one point.
func (t *Transform) pt(p Pt) Pt {
	switch t.Turn {
	case 90:
		p = Pt{float64(t.SrcH-1) - p[1], p[0]}
	case 180:
		p = Pt{float64(t.SrcW-1) - p[0], float64(t.SrcH-1) - p[1]}
	case 270:
		p = Pt{p[1], float64(t.SrcW-1) - p[0]}
	}
	if t.FX == 1 && t.FY == 1 {
		return p
	}
	// + 0: Python's round(-0.4) is the int 0, where Go's is -0 ("-0" in JSON).
	return Pt{math.RoundToEven(p[0]*t.FX) + 0, math.RoundToEven(p[1]*t.FY) + 0}
}

// pts turns and scales points into a new slice; a point that does not come out
// finite is an error (never for coordinates ParseGeometry accepted).
func (t *Transform) pts(ps []Pt) ([]Pt, error) {
	out := make([]Pt, len(ps))
	for i, p := range ps {
		out[i] = t.pt(p)
		if !finite(out[i]) {
			return nil, fmt.Errorf("point [%g, %g] becomes [%g, %g]", p[0], p[1], out[i][0], out[i][1])
		}
	}
	return out, nil
}

// turnMask turns a mask placed at origin with the frame.
func (t *Transform) turnMask(origin [2]int, m *Mask) ([2]int, *Mask) {
	if t.Turn == 0 {
		return origin, m
	}
	r := &Mask{W: m.W, H: m.H, Bits: make([]bool, len(m.Bits))}
	if t.Turn != 180 {
		r.W, r.H = m.H, m.W
	}
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			var nx, ny int
			switch t.Turn {
			case 90:
				nx, ny = m.H-1-y, x
			case 180:
				nx, ny = m.W-1-x, m.H-1-y
			default:
				nx, ny = y, m.W-1-x
			}
			r.Bits[ny*r.W+nx] = m.Bits[y*m.W+x]
		}
	}
	switch t.Turn {
	case 90:
		origin = [2]int{t.SrcH - origin[1] - m.H, origin[0]}
	case 180:
		origin = [2]int{t.SrcW - origin[0] - m.W, t.SrcH - origin[1] - m.H}
	default:
		origin = [2]int{origin[1], t.SrcW - origin[0] - m.W}
	}
	return origin, r
}

// LeftOut says a label cannot be carried to the output image, while nothing is
// wrong with the rest of the frame: a geometry type vpipe cannot move, a bitmap
// that vanishes when shrunk.
type LeftOut struct{ Err error }

func (e *LeftOut) Error() string { return e.Err.Error() }
func (e *LeftOut) Unwrap() error { return e.Err }

// maxCoord bounds a coordinate as read, in pixels: far beyond any image, and
// small enough that turning, scaling and clipping stay exact and finite.
const maxCoord = 1 << 30

func checkPts(path string, ps []Pt) error {
	for i, q := range ps {
		if !finite(q) || math.Abs(q[0]) > maxCoord || math.Abs(q[1]) > maxCoord {
			return &PathError{Path: fmt.Sprintf("%s[%d]", path, i), Err: fmt.Errorf("[%g, %g] is not a point within ±2^30 pixels", q[0], q[1])}
		}
	}
	return nil
}

// ParseGeometry reads a geometry of the given type from its JSON keys (a label's
// top level, or a figure's "geometry" object).
func ParseGeometry(typ string, m map[string]json.RawMessage) (Geometry, error) {
	switch typ {
	case TypeRectangle, TypePolygon, TypeLine, TypePoint:
		var p struct {
			Exterior []Pt   `json:"exterior"`
			Interior [][]Pt `json:"interior"`
		}
		raw, ok := m["points"]
		if !ok {
			return nil, &PathError{Path: "points", Err: fmt.Errorf("missing")}
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, at("points", err)
		}
		if err := checkPts("points.exterior", p.Exterior); err != nil {
			return nil, err
		}
		for i, ring := range p.Interior {
			if err := checkPts(fmt.Sprintf("points.interior[%d]", i), ring); err != nil {
				return nil, err
			}
		}
		// Checked above as read, floored from here on (pixel.go).
		pixels(p.Exterior)
		for _, ring := range p.Interior {
			pixels(ring)
		}
		switch typ {
		case TypeRectangle:
			if len(p.Exterior) != 2 {
				return nil, &PathError{Path: "points.exterior", Err: fmt.Errorf("a rectangle needs 2 points, got %d", len(p.Exterior))}
			}
			a, b := p.Exterior[0], p.Exterior[1]
			return &Rectangle{Left: math.Min(a[0], b[0]), Top: math.Min(a[1], b[1]), Right: math.Max(a[0], b[0]), Bottom: math.Max(a[1], b[1])}, nil
		case TypePolygon:
			if len(p.Exterior) == 0 {
				return nil, &PathError{Path: "points.exterior", Err: fmt.Errorf("a polygon needs points")}
			}
			for i, ring := range p.Interior {
				if len(ring) == 0 {
					return nil, &PathError{Path: fmt.Sprintf("points.interior[%d]", i), Err: fmt.Errorf("a hole needs points")}
				}
				p.Interior[i] = padRing(ring)
			}
			return &Polygon{Exterior: padRing(p.Exterior), Interior: p.Interior}, nil
		case TypeLine:
			if len(p.Exterior) < 2 {
				return nil, &PathError{Path: "points.exterior", Err: fmt.Errorf("a line needs at least 2 points, got %d", len(p.Exterior))}
			}
			return &Line{Points: p.Exterior}, nil
		default:
			if len(p.Exterior) != 1 {
				return nil, &PathError{Path: "points.exterior", Err: fmt.Errorf("a point needs 1 point, got %d", len(p.Exterior))}
			}
			return &Point{P: p.Exterior[0]}, nil
		}
	case TypeBitmap:
		var b struct {
			Origin Pt     `json:"origin"`
			Data   string `json:"data"`
		}
		raw, ok := m["bitmap"]
		if !ok {
			return nil, &PathError{Path: "bitmap", Err: fmt.Errorf("missing")}
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, at("bitmap", err)
		}
		if err := checkPts("bitmap.origin", []Pt{b.Origin}); err != nil {
			return nil, &PathError{Path: "bitmap.origin", Err: err.(*PathError).Err}
		}
		o := pixel(b.Origin)
		// Only the header is read here: the pixels are decoded when written.
		w, h, err := maskSize(b.Data)
		if err != nil {
			return nil, &PathError{Path: "bitmap.data", Err: err}
		}
		return &Bitmap{Origin: [2]int{int(o[0]), int(o[1])}, W: w, H: h, data: b.Data}, nil
	case TypeGraph:
		raw, ok := m["nodes"]
		if !ok {
			return nil, &PathError{Path: "nodes", Err: fmt.Errorf("missing")}
		}
		g, err := parseGraph(raw)
		if err != nil {
			return nil, at("nodes", err)
		}
		return g, nil
	}
	u := &Unknown{Name: typ, Fields: map[string]json.RawMessage{}}
	for k, v := range m {
		u.Fields[k] = v
	}
	return u, nil
}

func finite(p Pt) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}

func inside(p Pt, w, h int) bool {
	return p[0] >= 0 && p[1] >= 0 && p[0] <= float64(w-1) && p[1] <= float64(h-1)
}

func pointsJSON(ext []Pt, in [][]Pt) map[string]any {
	if ext == nil {
		ext = []Pt{}
	}
	if in == nil {
		in = [][]Pt{}
	}
	return map[string]any{"exterior": ext, "interior": in}
}

// Rectangle is an axis-aligned box with inclusive pixel corners.
type Rectangle struct{ Left, Top, Right, Bottom float64 }

func (r *Rectangle) Type() string { return TypeRectangle }
func (r *Rectangle) keys(o *object) error {
	o.add("points", pointsJSON([]Pt{{r.Left, r.Top}, {r.Right, r.Bottom}}, nil))
	return nil
}

// Transform moves the corners and takes their min and max (the SDK's resize).
func (r *Rectangle) Transform(t *Transform) ([]Geometry, error) {
	if t.identity() {
		return r.crop(t.W, t.H), nil
	}
	c, err := t.pts([]Pt{{r.Left, r.Top}, {r.Right, r.Bottom}})
	if err != nil {
		return nil, err
	}
	a, b := c[0], c[1]
	return (&Rectangle{math.Min(a[0], b[0]), math.Min(a[1], b[1]), math.Max(a[0], b[0]), math.Max(a[1], b[1])}).crop(t.W, t.H), nil
}

func (r *Rectangle) crop(w, h int) []Geometry {
	c := &Rectangle{math.Max(r.Left, 0), math.Max(r.Top, 0), math.Min(r.Right, float64(w-1)), math.Min(r.Bottom, float64(h-1))}
	if c.Left > c.Right || c.Top > c.Bottom {
		return nil
	}
	if *c == *r {
		return []Geometry{r}
	}
	return []Geometry{c}
}

// Point is a single point.
type Point struct{ P Pt }

func (p *Point) Type() string         { return TypePoint }
func (p *Point) keys(o *object) error { o.add("points", pointsJSON([]Pt{p.P}, nil)); return nil }

// Transform drops the point when it lands outside the image.
func (p *Point) Transform(t *Transform) ([]Geometry, error) {
	q := p
	if !t.identity() {
		c, err := t.pts([]Pt{p.P})
		if err != nil {
			return nil, err
		}
		q = &Point{c[0]}
	}
	if inside(q.P, t.W, t.H) {
		return []Geometry{q}, nil
	}
	return nil, nil
}

// Polygon is an exterior ring with optional holes.
type Polygon struct {
	Exterior []Pt
	Interior [][]Pt
}

func (p *Polygon) Type() string { return TypePolygon }
func (p *Polygon) keys(o *object) error {
	o.add("points", pointsJSON(p.Exterior, p.Interior))
	return nil
}

// Transform turns and scales the polygon, then crops it to the image (cropper.go).
func (p *Polygon) Transform(t *Transform) ([]Geometry, error) {
	if t.identity() {
		return p.crop(t)
	}
	ext, err := t.pts(p.Exterior)
	if err != nil {
		return nil, err
	}
	out := &Polygon{Exterior: ext}
	for _, h := range p.Interior {
		ring, err := t.pts(h)
		if err != nil {
			return nil, err
		}
		out.Interior = append(out.Interior, ring)
	}
	return out.crop(t)
}

// Line is a polyline.
type Line struct{ Points []Pt }

func (l *Line) Type() string         { return TypeLine }
func (l *Line) keys(o *object) error { o.add("points", pointsJSON(l.Points, nil)); return nil }

// Transform turns and scales the line, then crops it to the image (cropper.go).
func (l *Line) Transform(t *Transform) ([]Geometry, error) {
	if t.identity() {
		return l.crop(t)
	}
	ps, err := t.pts(l.Points)
	if err != nil {
		return nil, err
	}
	return (&Line{ps}).crop(t)
}

// Node is a graph (keypoint) node.
type Node struct {
	ID       string
	Loc      Pt
	Disabled bool
	Extra    Extra
}

// Graph is a keypoint skeleton; nodes keep their JSON order.
type Graph struct{ Nodes []Node }

func parseGraph(raw json.RawMessage) (*Graph, error) {
	dec := json.NewDecoder(bytesReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object of nodes")
	}
	g := &Graph{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		id := kt.(string)
		var nraw json.RawMessage
		if err := dec.Decode(&nraw); err != nil {
			return nil, at(id, err)
		}
		m, extra, err := splitKnown(nraw, "loc", "disabled")
		if err != nil {
			return nil, at(id, err)
		}
		n := Node{ID: id, Extra: extra}
		if err := field(m, "loc", &n.Loc); err != nil {
			return nil, at(id, err)
		}
		if _, ok := m["loc"]; !ok {
			return nil, &PathError{Path: id + ".loc", Err: fmt.Errorf("missing")}
		}
		if err := checkPts(id+".loc", []Pt{n.Loc}); err != nil {
			return nil, &PathError{Path: id + ".loc", Err: err.(*PathError).Err}
		}
		n.Loc = pixel(n.Loc)
		if err := field(m, "disabled", &n.Disabled); err != nil {
			return nil, at(id, err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	if len(g.Nodes) == 0 {
		return nil, fmt.Errorf("a graph needs nodes")
	}
	return g, nil
}

func (g *Graph) Type() string { return TypeGraph }
func (g *Graph) keys(o *object) error {
	o.add("nodes", graphNodes(g.Nodes))
	return nil
}

type graphNodes []Node

func (ns graphNodes) MarshalJSON() ([]byte, error) {
	var o object
	for _, n := range ns {
		var no object
		no.add("loc", n.Loc)
		if n.Disabled {
			no.add("disabled", true)
		}
		b, err := no.marshal(n.Extra)
		if err != nil {
			return nil, err
		}
		o.add(n.ID, json.RawMessage(b))
	}
	return o.marshal(nil)
}

// Transform moves every node, keeping disabled; the whole graph is dropped if
// any node lands outside the image (the SDK's rule).
func (g *Graph) Transform(t *Transform) ([]Geometry, error) {
	out := g
	if !t.identity() {
		out = &Graph{Nodes: make([]Node, len(g.Nodes))}
		for i, n := range g.Nodes {
			c, err := t.pts([]Pt{n.Loc})
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", n.ID, err)
			}
			n.Loc = c[0]
			out.Nodes[i] = n
		}
	}
	for _, n := range out.Nodes {
		if !inside(n.Loc, t.W, t.H) {
			return nil, nil
		}
	}
	return []Geometry{out}, nil
}

// Unknown is a geometry type vpipe does not transform, kept as raw JSON.
type Unknown struct {
	Name   string
	Fields map[string]json.RawMessage
}

func (u *Unknown) Type() string { return u.Name }
func (u *Unknown) keys(o *object) error {
	for _, k := range sortedKeys(u.Fields) {
		o.add(k, u.Fields[k])
	}
	return nil
}

// Transform cannot move an unknown shape's pixels, nor crop it: it is carried
// through untouched when nothing moves, and left out otherwise.
func (u *Unknown) Transform(t *Transform) ([]Geometry, error) {
	switch {
	case t.FX != 1 || t.FY != 1:
		return nil, &LeftOut{fmt.Errorf("cannot resize a %q geometry", u.Name)}
	case t.Turn != 0:
		return nil, &LeftOut{fmt.Errorf("cannot turn a %q geometry", u.Name)}
	}
	return []Geometry{u}, nil
}

func allInside(ps []Pt, w, h int) bool {
	for _, p := range ps {
		if !inside(p, w, h) {
			return false
		}
	}
	return true
}
