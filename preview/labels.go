package preview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	sv "github.com/vpipe/vpipe/supervisely"
)

// ObjectIDTag is the tag vpipe gives every label: the video object it came from.
const ObjectIDTag = "object_id"

// class is a class of meta.json as the page draws it. A graph class's edges
// come from its geometry_config (the label has only the nodes).
type class struct {
	Title string      `json:"t"`
	Color string      `json:"c"`
	Shape string      `json:"s"`
	Edges [][2]string `json:"e,omitempty"`
}

// classes indexes the classes of meta.json; a label of a class that meta.json
// lacks gets one of its own, grey.
type classes struct {
	list  []class
	index map[string]int
}

// grey is the colour of a class without a usable one.
const grey = "#808080"

// colourRE is the only form of colour the page takes: it goes into SVG
// attributes and styles, where anything else could be markup.
var colourRE = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// newClasses reads meta.json's classes; a colour that is not #RRGGBB is
// grey, with a warning naming the class.
func newClasses(meta *sv.ProjectMeta, log *slog.Logger) *classes {
	c := &classes{index: map[string]int{}}
	for _, oc := range meta.Classes {
		col := oc.Color
		if col != "" && !colourRE.MatchString(col) {
			log.Warn("preview: a class colour of meta.json is not #RRGGBB: the class is drawn grey", "class", oc.Title, "colour", fmt.Sprintf("%.40q", col))
			col = ""
		}
		c.add(class{Title: oc.Title, Color: col, Shape: oc.Shape, Edges: graphEdges(oc.GeometryConfig)})
	}
	return c
}

func (c *classes) add(k class) int {
	if k.Color == "" {
		k.Color = grey
	}
	c.index[k.Title] = len(c.list)
	c.list = append(c.list, k)
	return len(c.list) - 1
}

// colours gives a class's colour by its title (grey for one meta.json lacks);
// it is a copy, safe to read from every worker while classes grows.
func (c *classes) colours() func(string) string {
	m := make(map[string]string, len(c.list))
	for _, k := range c.list {
		m[k.Title] = k.Color
	}
	return func(title string) string {
		if col, ok := m[title]; ok {
			return col
		}
		return grey
	}
}

// of is a class's index, added (grey) when meta.json lacks it.
func (c *classes) of(title string) int {
	if i, ok := c.index[title]; ok {
		return i
	}
	return c.add(class{Title: title, Shape: "any"})
}

// graphEdges reads the edges of a graph class's template (geometry_config
// {"nodes": {...}, "edges": [{"src": id, "dst": id}]}); nil for any other.
func graphEdges(cfg json.RawMessage) [][2]string {
	var g struct {
		Edges []struct {
			Src string `json:"src"`
			Dst string `json:"dst"`
		} `json:"edges"`
	}
	if len(cfg) == 0 || json.Unmarshal(cfg, &g) != nil {
		return nil
	}
	var out [][2]string
	for _, e := range g.Edges {
		out = append(out, [2]string{e.Src, e.Dst})
	}
	return out
}

// label is one label as a data chunk holds it: [class, kind, geometry,
// object_id, tags]. Kinds: r rectangle [l,t,r,b] (inclusive pixels), p
// polygon [exterior, holes...] (flat x,y lists), l line (flat), o point
// [x,y], g graph [[id,x,y,disabled]...], b bitmap [x,y,w,h,mask PNG's path
// in the site], u any other geometry (its type name; listed, not drawn).
type label struct {
	Class    string // resolved to an index by Build
	Kind     string
	Geometry any
	ObjectID json.RawMessage
	Tags     []tag
}

// tag is an image's or label's tag: its name and, when it has one, its value
// as text.
type tag struct {
	Name, Value string
	HasValue    bool
}

func (l *label) row(classIdx int, tags any) []any {
	var oid any
	if len(l.ObjectID) > 0 {
		oid = l.ObjectID
	}
	return []any{classIdx, l.Kind, l.Geometry, oid, tags}
}

// labels turns an annotation's objects into labels; colour gives a class's
// colour for its bitmap masks, and putMask stores a mask's PNG and gives its
// path. A bitmap whose mask does not decode is kept as an undrawn label and
// its error returned, with the others.
func labels(a *sv.ImageAnnotation, colour func(string) string, putMask func([]byte) (string, error)) ([]label, []error) {
	var out []label
	var errs []error
	for i, o := range a.Objects {
		l := label{Class: o.ClassTitle}
		for _, t := range o.Tags {
			if t.Name == ObjectIDTag {
				l.ObjectID = t.Value
				continue
			}
			l.Tags = append(l.Tags, tagOf(t))
		}
		var err error
		l.Kind, l.Geometry, err = geometry(o.Geometry, colour(o.ClassTitle), putMask)
		if err != nil {
			errs = append(errs, fmt.Errorf("objects[%d] (%s): %w", i, o.ClassTitle, err))
			l.Kind, l.Geometry = "u", o.Geometry.Type()
		}
		out = append(out, l)
	}
	return out, errs
}

// geometry is a geometry's kind and compact form.
func geometry(g sv.Geometry, colour string, putMask func([]byte) (string, error)) (string, any, error) {
	switch g := g.(type) {
	case *sv.Rectangle:
		return "r", []float64{g.Left, g.Top, g.Right, g.Bottom}, nil
	case *sv.Polygon:
		rings := []any{flat(g.Exterior)}
		for _, h := range g.Interior {
			rings = append(rings, flat(h))
		}
		return "p", rings, nil
	case *sv.Line:
		return "l", flat(g.Points), nil
	case *sv.Point:
		return "o", []float64{g.P[0], g.P[1]}, nil
	case *sv.Graph:
		var nodes [][]any
		for _, n := range g.Nodes {
			d := 0
			if n.Disabled {
				d = 1
			}
			nodes = append(nodes, []any{n.ID, n.Loc[0], n.Loc[1], d})
		}
		return "g", nodes, nil
	case *sv.Bitmap:
		origin, m, err := g.Mask()
		if err != nil {
			return "", nil, err
		}
		b, err := maskPNG(m, colour)
		if err != nil {
			return "", nil, err
		}
		path, err := putMask(b)
		if err != nil {
			return "", nil, err
		}
		return "b", []any{origin[0], origin[1], m.W, m.H, path}, nil
	}
	return "u", g.Type(), nil
}

func flat(ps []sv.Pt) []float64 {
	out := make([]float64, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, p[0], p[1])
	}
	return out
}

// tagOf reads a tag's name and value (a string as it is, a number as written).
func tagOf(t sv.Tag) tag {
	if len(t.Value) == 0 || string(t.Value) == "null" {
		return tag{Name: t.Name}
	}
	var s string
	if json.Unmarshal(t.Value, &s) == nil {
		return tag{Name: t.Name, Value: s, HasValue: true}
	}
	return tag{Name: t.Name, Value: string(t.Value), HasValue: true}
}

// maskPNG draws a mask in a class's colour (clear elsewhere) as a PNG: the
// page lays it over the image at the bitmap's origin, so the browser needs no
// zlib of its own (the layout's data is zlib of a PNG, §5).
func maskPNG(m *sv.Mask, colour string) ([]byte, error) {
	c := parseColour(colour)
	img := image.NewPaletted(image.Rect(0, 0, m.W, m.H), color.Palette{color.NRGBA{}, c})
	for i, on := range m.Bits {
		if on {
			img.Pix[(i/m.W)*img.Stride+i%m.W] = 1
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// parseColour reads "#RRGGBB"; anything else is grey.
func parseColour(s string) color.NRGBA {
	if v, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32); err == nil && len(s) == 7 && s[0] == '#' {
		return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
	}
	return color.NRGBA{R: 128, G: 128, B: 128, A: 255}
}
