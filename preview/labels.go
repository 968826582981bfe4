package preview

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
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

func newClasses(meta *sv.ProjectMeta) *classes {
	c := &classes{index: map[string]int{}}
	for _, oc := range meta.Classes {
		c.add(class{Title: oc.Title, Color: oc.Color, Shape: oc.Shape, Edges: graphEdges(oc.GeometryConfig)})
	}
	return c
}

func (c *classes) add(k class) int {
	if k.Color == "" {
		k.Color = "#808080"
	}
	c.index[k.Title] = len(c.list)
	c.list = append(c.list, k)
	return len(c.list) - 1
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

// label is one label as data.js holds it: [class, kind, geometry, object_id,
// tags]. Kinds: r rectangle [l,t,r,b] (inclusive pixels), p polygon
// [exterior, holes...] (flat x,y lists), l line (flat), o point [x,y],
// g graph [[id,x,y,disabled]...], b bitmap [x,y,w,h,PNG data URL], u any
// other geometry (its type name; listed, not drawn).
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
// colour for its bitmap masks. A bitmap whose mask does not decode is kept as
// an undrawn label and its error returned, with the others.
func labels(a *sv.ImageAnnotation, colour func(string) string) ([]label, []error) {
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
		l.Kind, l.Geometry, err = geometry(o.Geometry, colour(o.ClassTitle))
		if err != nil {
			errs = append(errs, fmt.Errorf("objects[%d] (%s): %w", i, o.ClassTitle, err))
			l.Kind, l.Geometry = "u", o.Geometry.Type()
		}
		out = append(out, l)
	}
	return out, errs
}

// geometry is a geometry's kind and compact form.
func geometry(g sv.Geometry, colour string) (string, any, error) {
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
		url, err := maskURL(m, colour)
		if err != nil {
			return "", nil, err
		}
		return "b", []any{origin[0], origin[1], m.W, m.H, url}, nil
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

// maskURL draws a mask in a class's colour (clear elsewhere) as a PNG data
// URL: the page lays it over the image at the bitmap's origin, so the browser
// needs no zlib of its own (the layout's data is zlib of a PNG, §5).
func maskURL(m *sv.Mask, colour string) (string, error) {
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
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// parseColour reads "#RRGGBB"; anything else is grey.
func parseColour(s string) color.NRGBA {
	if v, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32); err == nil && len(s) == 7 && s[0] == '#' {
		return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
	}
	return color.NRGBA{R: 128, G: 128, B: 128, A: 255}
}
