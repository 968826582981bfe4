// Package formats holds the rules the training formats (formats/coco,
// formats/yolo) share: which id a class gets, a label's pixel box, a graph
// class's node template, and the count of labels a format cannot carry.
//
// Class ids come from the class order of the project meta the output keeps
// (.vpipe/meta.json of layouts/coco and layouts/yolo): every writer of one
// output merges the source meta into that file the same way (classes already
// there keep their place, new ones go after them), so a class has the same
// index in every run, shard, worker and split.
package formats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	sv "github.com/vpipe/vpipe/supervisely"
)

// Skip names labels a format left out: their class and geometry type, and
// why when the format could carry that geometry ("": it cannot).
type Skip struct{ Class, Geometry, Why string }

// Why a format left out a label of a geometry it carries.
const (
	WhyOutside    = "it lies wholly outside the image"
	WhyNoTemplate = "its graph class has no node template (geometry_config.nodes), so its keypoints have no order"
)

// Skips counts the labels a format left out, per class, geometry and why.
type Skips map[Skip]int

// Add counts one label left out; why is "" when the format cannot carry
// the geometry, else a Why constant.
func (s Skips) Add(class, geometry, why string) { s[Skip{class, geometry, why}]++ }

// Merge adds the counts of o.
func (s Skips) Merge(o Skips) {
	for k, n := range o {
		s[k] += n
	}
}

// Sorted lists the keys in class, then geometry order (for messages).
func (s Skips) Sorted() []Skip {
	out := make([]Skip, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Class != out[j].Class {
			return out[i].Class < out[j].Class
		}
		if out[i].Geometry != out[j].Geometry {
			return out[i].Geometry < out[j].Geometry
		}
		return out[i].Why < out[j].Why
	})
	return out
}

// ClassIndex maps each class title to its 0-based place in the meta's class
// order: YOLO's class id, and COCO's category id less one.
func ClassIndex(meta *sv.ProjectMeta) map[string]int {
	out := make(map[string]int, len(meta.Classes))
	for i, c := range meta.Classes {
		out[c.Title] = i
	}
	return out
}

// Box is a label's pixel box: Left..Right and Top..Bottom are inclusive pixel
// indices, as a Supervisely rectangle's corners are. It covers Right-Left+1
// columns: in the continuous coordinates of COCO and YOLO (pixel x spans
// [x, x+1)) it is [Left, Right+1) × [Top, Bottom+1).
type Box struct{ Left, Top, Right, Bottom float64 }

// W is the number of columns the box covers.
func (b Box) W() float64 { return b.Right - b.Left + 1 }

// H is the number of rows the box covers.
func (b Box) H() float64 { return b.Bottom - b.Top + 1 }

// PointsBox is the box of points (a polygon's exterior, a line, graph nodes).
func PointsBox(ps []sv.Pt) Box {
	b := Box{ps[0][0], ps[0][1], ps[0][0], ps[0][1]}
	for _, p := range ps[1:] {
		b.Left, b.Right = min(b.Left, p[0]), max(b.Right, p[0])
		b.Top, b.Bottom = min(b.Top, p[1]), max(b.Bottom, p[1])
	}
	return b
}

// MaskBox is the box of a mask placed at origin (a bitmap trimmed by
// sv.Bitmap.Mask, so its box is the mask's own size).
func MaskBox(origin [2]int, m *sv.Mask) Box {
	return Box{float64(origin[0]), float64(origin[1]), float64(origin[0] + m.W - 1), float64(origin[1] + m.H - 1)}
}

// GraphBox is the box of all of a graph's nodes, disabled ones included: the
// Supervisely label's bounds (a hidden node still has its place).
func GraphBox(g *sv.Graph) Box {
	ps := make([]sv.Pt, len(g.Nodes))
	for i, n := range g.Nodes {
		ps[i] = n.Loc
	}
	return PointsBox(ps)
}

// Template is a graph class's node template (its geometry_config): node ids
// in the order the JSON lists them, their labels, and the edges as pairs of
// 0-based node indices.
type Template struct {
	IDs    []string
	Labels []string
	Edges  [][2]int
}

// Index is the place of each node id in the template.
func (t *Template) Index() map[string]int {
	out := make(map[string]int, len(t.IDs))
	for i, id := range t.IDs {
		out[id] = i
	}
	return out
}

// ParseTemplate reads a graph class's geometry_config: {"nodes": {id: {label,
// loc, ...}, ...}, "edges": [{src, dst}, ...]}. A class without nodes has no
// template (nil, nil). A node's label defaults to its id; an edge naming a
// node that is not there is an error.
func ParseTemplate(gc json.RawMessage) (*Template, error) {
	var cfg struct {
		Nodes json.RawMessage `json:"nodes"`
		Edges []struct {
			Src string `json:"src"`
			Dst string `json:"dst"`
		} `json:"edges"`
	}
	if len(gc) == 0 || string(gc) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(gc, &cfg); err != nil {
		return nil, fmt.Errorf("geometry_config: %w", err)
	}
	t := &Template{}
	if err := orderedNodes(cfg.Nodes, func(id string, raw json.RawMessage) error {
		var n struct {
			Label string `json:"label"`
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("geometry_config.nodes.%s: %w", id, err)
		}
		if n.Label == "" {
			n.Label = id
		}
		t.IDs, t.Labels = append(t.IDs, id), append(t.Labels, n.Label)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(t.IDs) == 0 {
		return nil, nil
	}
	idx := t.Index()
	for i, e := range cfg.Edges {
		s, ok1 := idx[e.Src]
		d, ok2 := idx[e.Dst]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("geometry_config.edges[%d]: %s → %s names a node the template does not have", i, e.Src, e.Dst)
		}
		t.Edges = append(t.Edges, [2]int{s, d})
	}
	return t, nil
}

// orderedNodes calls fn for each member of a JSON object in its order (a Go
// map would lose the order that makes the keypoint order).
func orderedNodes(raw json.RawMessage, fn func(id string, v json.RawMessage) error) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("geometry_config.nodes: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("geometry_config.nodes: want an object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("geometry_config.nodes: %w", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("geometry_config.nodes.%v: %w", kt, err)
		}
		if err := fn(kt.(string), v); err != nil {
			return err
		}
	}
	return nil
}

// Templates reads the templates of a meta's graph classes, by class title
// (a graph class without nodes has none).
func Templates(meta *sv.ProjectMeta) (map[string]*Template, error) {
	out := map[string]*Template{}
	for _, c := range meta.Classes {
		if c.Shape != sv.TypeGraph {
			continue
		}
		t, err := ParseTemplate(c.GeometryConfig)
		if err != nil {
			return nil, fmt.Errorf("class %q: %w", c.Title, err)
		}
		if t != nil {
			out[c.Title] = t
		}
	}
	return out, nil
}

// ParseAnnotation reads an image annotation (§6.1) and checks that its size
// is known: both formats place labels relative to the image.
func ParseAnnotation(raw json.RawMessage) (*sv.ImageAnnotation, error) {
	var a sv.ImageAnnotation
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("image annotation: %w", err)
	}
	if a.Width <= 0 || a.Height <= 0 {
		return nil, fmt.Errorf("image annotation: no image size (size %dx%d)", a.Width, a.Height)
	}
	return &a, nil
}
