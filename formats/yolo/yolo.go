// Package yolo turns Supervisely image annotations (reference §6.1) into
// Ultralytics YOLO label files and data.yaml, with no I/O (layouts/yolo
// writes them).
//
// Conventions (docs/formats.md says them for users):
//   - A label file has one line a label, in the annotation's order, each
//     number normalised by the image's width (x) or height (y) to [0, 1] with
//     6 decimals; an image without labels gets an empty file.
//   - Class ids are 0-based places in the project meta's class order
//     (formats.ClassIndex), the same in every run and split.
//   - Boxes cover their corner pixels (formats.Box): a box of pixels
//     left..right spans [left, right+1), so cx = (left+right+1)/2/W and
//     w = (right-left+1)/W.
//   - detect: "class cx cy w h" from a rectangle, a polygon (its points'
//     box), a bitmap (its pixels' box) or a graph (its nodes' box).
//   - segment: "class x1 y1 x2 y2 ..." from a polygon's exterior (its holes
//     are dropped: a YOLO segment has none) or a rectangle's 4 corners, the
//     vertices being Supervisely's pixel indices as they are. A bitmap is not
//     traced into a polygon: it is left out and counted.
//   - pose: "class cx cy w h x1 y1 v1 ..." from a graph: the box of its nodes,
//     then one keypoint per node of the class's template in its order, v = 2
//     for a node that is there, "0 0 0" for one disabled or missing. Every
//     line has kpt_shape[0] keypoints, the most any graph class has; a class
//     with fewer nodes is padded with "0 0 0".
//   - Whatever a task cannot express (points and lines always; bitmaps,
//     graphs for segment; everything but graphs for pose; a graph of a class
//     without a node template for pose) is left out and counted.
package yolo

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vpipe/vpipe/formats"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Task is what the labels are for: Ultralytics' detect, segment or pose.
type Task string

// The tasks.
const (
	Detect  Task = "detect"
	Segment Task = "segment"
	Pose    Task = "pose"
)

// ParseTask reads a task name; "" is detect.
func ParseTask(s string) (Task, error) {
	switch t := Task(s); t {
	case "":
		return Detect, nil
	case Detect, Segment, Pose:
		return t, nil
	}
	return "", fmt.Errorf("YOLO task %q: want detect, segment or pose", s)
}

// Converter writes the label files of one project meta and task.
type Converter struct {
	task      Task
	classes   map[string]int
	templates map[string]*formats.Template
	kpts      int
}

// NewConverter prepares the class order and the graph templates of meta.
func NewConverter(meta *sv.ProjectMeta, task Task) (*Converter, error) {
	t, err := formats.Templates(meta)
	if err != nil {
		return nil, err
	}
	return &Converter{task: task, classes: formats.ClassIndex(meta), templates: t, kpts: kptCount(t)}, nil
}

// kptCount is the number of keypoints a pose line has: the most nodes any
// graph class's template has.
func kptCount(t map[string]*formats.Template) int {
	n := 0
	for _, tp := range t {
		n = max(n, len(tp.IDs))
	}
	return n
}

// Labels writes an image's label file; the labels the task cannot express
// are counted in skips.
func (c *Converter) Labels(ann *sv.ImageAnnotation) (out []byte, skips formats.Skips, err error) {
	skips = formats.Skips{}
	var b bytes.Buffer
	for i := range ann.Objects {
		l := &ann.Objects[i]
		id, ok := c.classes[l.ClassTitle]
		if !ok {
			return nil, nil, fmt.Errorf("objects[%d]: class %q is not in the project meta", i, l.ClassTitle)
		}
		nums, ok, err := c.line(l)
		if err != nil {
			return nil, nil, fmt.Errorf("objects[%d] (class %q): %w", i, l.ClassTitle, err)
		}
		if !ok {
			skips.Add(l.ClassTitle, l.Geometry.Type(), c.why(l))
			continue
		}
		b.WriteString(strconv.Itoa(id))
		for j, v := range nums {
			b.WriteByte(' ')
			axis := j % 2 // 0: x, 1: y
			if c.task == Pose && j >= 4 {
				if axis = (j - 4) % 3; axis == 2 { // a visibility: 0 or 2
					b.WriteString(strconv.Itoa(int(v)))
					continue
				}
			}
			size := float64(ann.Width)
			if axis == 1 {
				size = float64(ann.Height)
			}
			b.WriteString(norm(v, size))
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), skips, nil
}

// why says why line left out a label the task could express: in pose, a
// graph whose class has no template; "" when the task cannot express it.
func (c *Converter) why(l *sv.Label) string {
	if _, isGraph := l.Geometry.(*sv.Graph); isGraph && c.task == Pose {
		return formats.WhyNoTemplate
	}
	return ""
}

// line is a label's numbers in pixels (visibilities as they are), x and y
// alternating; ok is false when the task cannot express the label.
func (c *Converter) line(l *sv.Label) (nums []float64, ok bool, err error) {
	switch c.task {
	case Detect:
		b, ok, err := box(l.Geometry)
		if !ok || err != nil {
			return nil, ok, err
		}
		return center(b), true, nil
	case Segment:
		switch g := l.Geometry.(type) {
		case *sv.Polygon:
			return flat(g.Exterior), true, nil
		case *sv.Rectangle:
			return flat([]sv.Pt{{g.Left, g.Top}, {g.Right, g.Top}, {g.Right, g.Bottom}, {g.Left, g.Bottom}}), true, nil
		}
		return nil, false, nil
	}
	g, isGraph := l.Geometry.(*sv.Graph)
	t := c.templates[l.ClassTitle]
	if !isGraph || t == nil {
		return nil, false, nil
	}
	nums = center(formats.GraphBox(g))
	nodes := make(map[string]sv.Node, len(g.Nodes))
	for _, n := range g.Nodes {
		nodes[n.ID] = n
	}
	for _, id := range t.IDs {
		if n, ok := nodes[id]; ok && !n.Disabled {
			nums = append(nums, n.Loc[0], n.Loc[1], 2)
		} else {
			nums = append(nums, 0, 0, 0)
		}
	}
	for k := len(t.IDs); k < c.kpts; k++ {
		nums = append(nums, 0, 0, 0)
	}
	return nums, true, nil
}

// box is the pixel box of a geometry detect takes.
func box(g sv.Geometry) (formats.Box, bool, error) {
	switch g := g.(type) {
	case *sv.Rectangle:
		return formats.Box{Left: g.Left, Top: g.Top, Right: g.Right, Bottom: g.Bottom}, true, nil
	case *sv.Polygon:
		return formats.PointsBox(g.Exterior), true, nil
	case *sv.Bitmap:
		origin, m, err := g.Mask()
		if err != nil {
			return formats.Box{}, false, err
		}
		return formats.MaskBox(origin, m), true, nil
	case *sv.Graph:
		return formats.GraphBox(g), true, nil
	}
	return formats.Box{}, false, nil
}

// center is a box as cx, cy, w, h in pixels of continuous coordinates.
func center(b formats.Box) []float64 {
	return []float64{(b.Left + b.Right + 1) / 2, (b.Top + b.Bottom + 1) / 2, b.W(), b.H()}
}

func flat(ps []sv.Pt) []float64 {
	out := make([]float64, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, p[0], p[1])
	}
	return out
}

// norm writes v/size with 6 decimals, kept within [0, 1]: Ultralytics drops
// an image whose label has a coordinate outside it (labels are cropped to
// their image, so this only guards against rounding).
func norm(v, size float64) string {
	return strconv.FormatFloat(min(max(v/size, 0), 1), 'f', 6, 64)
}

// KptShape is data.yaml's kpt_shape for pose ([keypoints, 3]); nil when no
// graph class has a template (or the task is not pose).
func (c *Converter) KptShape() []int {
	if c.task != Pose || c.kpts == 0 {
		return nil
	}
	return []int{c.kpts, 3}
}

// DataYAML writes data.yaml: path (empty: Ultralytics then takes the folder
// of data.yaml as the dataset root, wherever the dataset is copied), one key
// per split naming its images folder (splits sorted), names as a map from
// class id to class title, and kpt_shape for pose.
func DataYAML(meta *sv.ProjectMeta, task Task, splits []string) ([]byte, error) {
	c, err := NewConverter(meta, task)
	if err != nil {
		return nil, err
	}
	splits = append([]string(nil), splits...)
	sort.Strings(splits)
	doc := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) {
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	add("path", str(""))
	doc.Content[0].HeadComment = "Written by vpipe. path is empty: Ultralytics takes the folder of this file as the dataset root."
	for _, s := range splits {
		add(s, str("images/"+s))
	}
	names := &yaml.Node{Kind: yaml.MappingNode}
	for i, cl := range meta.Classes {
		names.Content = append(names.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}, str(cl.Title))
	}
	if len(names.Content) == 0 {
		names.Style = yaml.FlowStyle
	}
	add("names", names)
	if ks := c.KptShape(); ks != nil {
		add("kpt_shape", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(ks[0])}, {Kind: yaml.ScalarNode, Tag: "!!int", Value: "3"}}})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// Splits reads the split keys of a data.yaml vpipe wrote (every key but
// path, names, nc and kpt_shape).
func Splits(data []byte) ([]string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var out []string
	for k := range m {
		switch k {
		case "path", "names", "nc", "kpt_shape":
		default:
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// LabelName is the label file name of an image: its name with the last
// extension replaced by .txt, as Ultralytics derives it (img2label_paths).
func LabelName(image string) (string, error) {
	i := strings.LastIndexByte(image, '.')
	if i <= 0 {
		return "", fmt.Errorf("image %q: a YOLO image needs an extension (its label file is named from it)", image)
	}
	return image[:i] + ".txt", nil
}
