// Package coco turns Supervisely image annotations (reference §6.1) into COCO
// objects detection format (instances_<split>.json), with no I/O: a layout
// (layouts/coco) journals each image's Entry as it is written and assembles
// the split's file from the journal at the end of a run.
//
// Conventions (docs/formats.md says them for users):
//   - Coordinates are Supervisely's integer pixel indices, copied unchanged.
//     A box covers its corner pixels: bbox = [left, top, right-left+1,
//     bottom-top+1], so it spans [left, right+1) in COCO's continuous
//     coordinates and its area is the number of pixels it covers.
//   - rectangle: bbox; segmentation is the box's 4 corners as a polygon.
//   - polygon: segmentation is its exterior, flattened [x1, y1, x2, y2, ...];
//     bbox is its points' box; area is the number of pixels the SDK fills
//     (FillPolygon).
//   - polygon with holes, bitmap: segmentation is an uncompressed RLE of the
//     whole image (RLE); bbox and area are those of the mask's pixels.
//   - graph: keypoints [x, y, v, ...] in the order of the class's node
//     template, v = 2 for a node that is there, 0 (with x = y = 0) for one that
//     is disabled or missing; the category carries the template's labels as
//     keypoints and its edges as skeleton (1-based). bbox is the box of all
//     the graph's nodes, area its pixel count, segmentation empty.
//   - point, line and any other geometry are not COCO objects: they are left
//     out and counted (formats.Skips), as is a graph of a class without a
//     node template.
//   - iscrowd is 0 for every object, RLE included: each label is one instance
//     (COCOeval ignores crowd regions, and Ultralytics' converter drops them).
//   - attributes: the label's tags, name → value (true for a tag without a
//     value, a list when a name repeats); object_id, the track id vpipe tags
//     every label with, is one of them.
//   - Category ids are 1-based places in the project meta's class order
//     (formats.ClassIndex), stable across runs and splits.
package coco

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vpipe/vpipe/formats"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Image is an entry of "images". ID is 0 (left out) in a journal entry: ids
// are given when the split's file is assembled.
type Image struct {
	ID       int64  `json:"id,omitempty"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Video    string `json:"video"`
	Dataset  string `json:"dataset"`
	// The frame's place in its video, from the image meta, as written there.
	FrameIndex json.RawMessage `json:"frame_index,omitempty"`
	PTS        json.RawMessage `json:"pts,omitempty"`
	TimeS      json.RawMessage `json:"time_s,omitempty"`
	// Attributes are the image's tags.
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`
}

// Object is one annotation before it has ids: its category is a class title.
type Object struct {
	Category     string                     `json:"category"`
	Segmentation json.RawMessage            `json:"segmentation"`
	Area         int64                      `json:"area"`
	BBox         [4]float64                 `json:"bbox"`
	IsCrowd      int                        `json:"iscrowd"`
	Keypoints    []float64                  `json:"keypoints,omitempty"`
	NumKeypoints *int                       `json:"num_keypoints,omitempty"`
	Attributes   map[string]json.RawMessage `json:"attributes"`
}

// Entry is one image with its objects: what the journal keeps per image.
type Entry struct {
	Image   Image    `json:"image"`
	Objects []Object `json:"annotations"`
}

// Converter converts the annotations of one project meta.
type Converter struct {
	classes   map[string]int
	templates map[string]*formats.Template
}

// NewConverter prepares the class order and the graph templates of meta.
func NewConverter(meta *sv.ProjectMeta) (*Converter, error) {
	t, err := formats.Templates(meta)
	if err != nil {
		return nil, err
	}
	return &Converter{classes: formats.ClassIndex(meta), templates: t}, nil
}

// NewImage makes the image entry of a frame: its file name relative to
// images/<split>/, size, video and source dataset path ("a/b"), the frame's
// index, pts and time from its meta, and its tags.
func NewImage(fileName string, w, h int, video, dataset string, meta map[string]any, tags []sv.Tag) (Image, error) {
	img := Image{FileName: fileName, Width: w, Height: h, Video: video, Dataset: dataset, Attributes: attributes(tags)}
	for _, f := range []struct {
		key string
		dst *json.RawMessage
	}{{"frame_index", &img.FrameIndex}, {"pts", &img.PTS}, {"time_s", &img.TimeS}} {
		if v, ok := meta[f.key]; ok {
			b, err := json.Marshal(v)
			if err != nil {
				return img, fmt.Errorf("meta %s: %w", f.key, err)
			}
			*f.dst = b
		}
	}
	if len(img.Attributes) == 0 {
		img.Attributes = nil
	}
	return img, nil
}

// Objects converts an image annotation's labels, in their order; the labels
// COCO cannot carry are counted in skips.
func (c *Converter) Objects(ann *sv.ImageAnnotation) (out []Object, skips formats.Skips, err error) {
	skips = formats.Skips{}
	for i := range ann.Objects {
		l := &ann.Objects[i]
		if _, ok := c.classes[l.ClassTitle]; !ok {
			return nil, nil, fmt.Errorf("objects[%d]: class %q is not in the project meta", i, l.ClassTitle)
		}
		o, ok, err := c.object(l, ann.Width, ann.Height)
		if err != nil {
			return nil, nil, fmt.Errorf("objects[%d] (class %q): %w", i, l.ClassTitle, err)
		}
		if !ok {
			skips.Add(l.ClassTitle, l.Geometry.Type(), c.why(l))
			continue
		}
		o.Category, o.Attributes = l.ClassTitle, attributes(l.Tags)
		out = append(out, o)
	}
	return out, skips, nil
}

// why says why object left out a label of a geometry COCO carries: a
// polygon or bitmap has no pixel inside the image, a graph no template; ""
// for a geometry COCO cannot carry.
func (c *Converter) why(l *sv.Label) string {
	switch l.Geometry.(type) {
	case *sv.Polygon, *sv.Bitmap:
		return formats.WhyOutside
	case *sv.Graph:
		return formats.WhyNoTemplate
	}
	return ""
}

// object converts one label's geometry; ok is false for one COCO cannot carry.
func (c *Converter) object(l *sv.Label, w, h int) (o Object, ok bool, err error) {
	switch g := l.Geometry.(type) {
	case *sv.Rectangle:
		b := formats.Box{Left: g.Left, Top: g.Top, Right: g.Right, Bottom: g.Bottom}
		o.Segmentation = polygons([]sv.Pt{{g.Left, g.Top}, {g.Right, g.Top}, {g.Right, g.Bottom}, {g.Left, g.Bottom}})
		o.BBox, o.Area = bbox(b), int64(b.W()*b.H())
		return o, true, nil
	case *sv.Polygon:
		origin, m, inside := FillPolygon(g.Exterior, g.Interior, w, h)
		if !inside {
			return o, false, nil
		}
		if len(g.Interior) == 0 {
			o.Segmentation = polygons(g.Exterior)
			o.BBox, o.Area = bbox(formats.PointsBox(g.Exterior)), count(m)
			return o, true, nil
		}
		return maskObject(origin, m, w, h)
	case *sv.Bitmap:
		origin, m, err := g.Mask()
		if err != nil {
			return o, false, err
		}
		return maskObject(origin, m, w, h)
	case *sv.Graph:
		t := c.templates[l.ClassTitle]
		if t == nil {
			return o, false, nil
		}
		kp, n := keypoints(g, t)
		b := formats.GraphBox(g)
		o.Segmentation = json.RawMessage("[]")
		o.BBox, o.Area, o.Keypoints, o.NumKeypoints = bbox(b), int64(b.W()*b.H()), kp, &n
		return o, true, nil
	}
	return o, false, nil
}

// maskObject is an object whose segmentation is the RLE of a mask.
func maskObject(origin [2]int, m *sv.Mask, w, h int) (o Object, ok bool, err error) {
	rle, st := EncodeRLE(w, h, origin, m)
	if !st.OK {
		return o, false, nil
	}
	b, err := json.Marshal(rle)
	if err != nil {
		return o, false, err
	}
	o.Segmentation, o.Area = b, st.Area
	o.BBox = bbox(formats.Box{Left: float64(st.Box[0]), Top: float64(st.Box[1]), Right: float64(st.Box[2]), Bottom: float64(st.Box[3])})
	return o, true, nil
}

// keypoints lays a graph's nodes out in the template's order.
func keypoints(g *sv.Graph, t *formats.Template) (kp []float64, visible int) {
	nodes := make(map[string]sv.Node, len(g.Nodes))
	for _, n := range g.Nodes {
		nodes[n.ID] = n
	}
	kp = make([]float64, 0, 3*len(t.IDs))
	for _, id := range t.IDs {
		n, ok := nodes[id]
		if !ok || n.Disabled {
			kp = append(kp, 0, 0, 0)
			continue
		}
		kp = append(kp, n.Loc[0], n.Loc[1], 2)
		visible++
	}
	return kp, visible
}

func bbox(b formats.Box) [4]float64 { return [4]float64{b.Left, b.Top, b.W(), b.H()} }

func polygons(ring []sv.Pt) json.RawMessage {
	flat := make([]float64, 0, 2*len(ring))
	for _, p := range ring {
		flat = append(flat, p[0], p[1])
	}
	b, _ := json.Marshal([][]float64{flat})
	return b
}

func count(m *sv.Mask) int64 {
	var n int64
	for _, v := range m.Bits {
		if v {
			n++
		}
	}
	return n
}

// attributes turns tags into name → value: true for a tag without a value,
// the values in a list when a name repeats.
func attributes(tags []sv.Tag) map[string]json.RawMessage {
	vals := map[string][]json.RawMessage{}
	var order []string
	for _, t := range tags {
		v := t.Value
		if len(v) == 0 {
			v = json.RawMessage("true")
		}
		if _, ok := vals[t.Name]; !ok {
			order = append(order, t.Name)
		}
		vals[t.Name] = append(vals[t.Name], v)
	}
	out := make(map[string]json.RawMessage, len(order))
	for _, n := range order {
		if vs := vals[n]; len(vs) == 1 {
			out[n] = vs[0]
		} else {
			b, _ := json.Marshal(vs) // each value was valid JSON as read
			out[n] = b
		}
	}
	return out
}

// Category is an entry of "categories".
type Category struct {
	ID            int      `json:"id"`
	Name          string   `json:"name"`
	Supercategory string   `json:"supercategory"`
	Keypoints     []string `json:"keypoints,omitempty"`
	Skeleton      [][2]int `json:"skeleton,omitempty"`
}

// Categories are one category per class of meta, id = 1-based place in its
// class order; a graph class with a node template adds keypoints and skeleton.
func Categories(meta *sv.ProjectMeta) ([]Category, error) {
	tpl, err := formats.Templates(meta)
	if err != nil {
		return nil, err
	}
	out := make([]Category, len(meta.Classes))
	for i, c := range meta.Classes {
		out[i] = Category{ID: i + 1, Name: c.Title, Supercategory: ""}
		if t := tpl[c.Title]; t != nil {
			out[i].Keypoints = t.Labels
			out[i].Skeleton = make([][2]int, len(t.Edges))
			for j, e := range t.Edges {
				out[i].Skeleton[j] = [2]int{e[0] + 1, e[1] + 1}
			}
		}
	}
	return out, nil
}

// Annotation is an entry of "annotations".
type Annotation struct {
	ID           int64                      `json:"id"`
	ImageID      int64                      `json:"image_id"`
	CategoryID   int                        `json:"category_id"`
	Segmentation json.RawMessage            `json:"segmentation"`
	Area         int64                      `json:"area"`
	BBox         [4]float64                 `json:"bbox"`
	IsCrowd      int                        `json:"iscrowd"`
	Keypoints    []float64                  `json:"keypoints,omitempty"`
	NumKeypoints *int                       `json:"num_keypoints,omitempty"`
	Attributes   map[string]json.RawMessage `json:"attributes"`
}

// File is instances_<split>.json.
type File struct {
	Info        Info         `json:"info"`
	Licenses    []struct{}   `json:"licenses"`
	Images      []Image      `json:"images"`
	Annotations []Annotation `json:"annotations"`
	Categories  []Category   `json:"categories"`
}

// Info is the file's "info" (some readers require the key).
type Info struct {
	Description string `json:"description"`
}

// Assemble writes a split's file from its entries: image ids 1, 2, ... and
// annotation ids 1, 2, ... in the order of entries (the caller sorts them, so
// the same entries always make the same bytes), categories from meta.
func Assemble(meta *sv.ProjectMeta, split string, entries []Entry) ([]byte, error) {
	cats, err := Categories(meta)
	if err != nil {
		return nil, err
	}
	ids := formats.ClassIndex(meta)
	f := File{Info: Info{Description: "split " + split + ", written by vpipe"}, Licenses: []struct{}{},
		Images: make([]Image, 0, len(entries)), Annotations: []Annotation{}, Categories: cats}
	for i, e := range entries {
		img := e.Image
		img.ID = int64(i + 1)
		f.Images = append(f.Images, img)
		for _, o := range e.Objects {
			cid, ok := ids[o.Category]
			if !ok {
				return nil, fmt.Errorf("%s: class %q is not in the project meta", img.FileName, o.Category)
			}
			f.Annotations = append(f.Annotations, Annotation{ID: int64(len(f.Annotations) + 1), ImageID: img.ID, CategoryID: cid + 1,
				Segmentation: o.Segmentation, Area: o.Area, BBox: o.BBox, IsCrowd: o.IsCrowd,
				Keypoints: o.Keypoints, NumKeypoints: o.NumKeypoints, Attributes: nonNil(o.Attributes)})
		}
	}
	return marshal(f)
}

func nonNil(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return map[string]json.RawMessage{}
	}
	return m
}

// marshal writes compact JSON (map keys sorted, so the bytes are stable),
// without escaping <, > and &, ending in a newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MarshalEntry writes a journal entry (compact JSON, stable bytes).
func MarshalEntry(e *Entry) ([]byte, error) { return marshal(e) }

// DatasetPath joins a dataset path for the image entry's "dataset".
func DatasetPath(ds []string) string { return strings.Join(ds, "/") }
