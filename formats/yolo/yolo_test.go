package yolo_test

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vpipe/vpipe/formats"
	"github.com/vpipe/vpipe/formats/yolo"
	"github.com/vpipe/vpipe/internal/testenv/svframes"
	sv "github.com/vpipe/vpipe/supervisely"
)

var number = regexp.MustCompile(`^(0|1)\.\d{6}$`)

// TestProjectLabels converts every frame of the bundled project for each
// task and reads each line back against the Supervisely label it came from.
func TestProjectLabels(t *testing.T) {
	meta := svframes.Meta(t)
	ids := formats.ClassIndex(meta)
	for _, task := range []yolo.Task{yolo.Detect, yolo.Segment, yolo.Pose} {
		t.Run(string(task), func(t *testing.T) {
			conv, err := yolo.NewConverter(meta, task)
			if err != nil {
				t.Fatal(err)
			}
			skips, want := formats.Skips{}, formats.Skips{}
			for _, f := range svframes.Frames(t) {
				ann, err := formats.ParseAnnotation(f.Ann)
				if err != nil {
					t.Fatal(err)
				}
				out, sk, err := conv.Labels(ann)
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				skips.Merge(sk)
				lines := strings.SplitAfter(string(out), "\n")
				lines = lines[:len(lines)-1] // after the last newline
				k := 0
				for i := range ann.Objects {
					l := &ann.Objects[i]
					if !expressible(task, l.Geometry) {
						want.Add(l.ClassTitle, l.Geometry.Type(), "")
						continue
					}
					if k >= len(lines) {
						t.Fatalf("%s: label %d (%s) has no line", f.Name, i, l.Geometry.Type())
					}
					checkLine(t, fmt.Sprintf("%s label %d (%s)", f.Name, i, l.Geometry.Type()), task, lines[k], ids[l.ClassTitle], l, ann, meta)
					k++
				}
				if k != len(lines) {
					t.Fatalf("%s: %d lines for %d labels: %q", f.Name, len(lines), k, out)
				}
			}
			if !reflect.DeepEqual(skips, want) {
				t.Errorf("skips %v, want %v", skips, want)
			}
		})
	}
}

func expressible(task yolo.Task, g sv.Geometry) bool {
	switch g.(type) {
	case *sv.Rectangle, *sv.Polygon:
		return task != yolo.Pose
	case *sv.Bitmap:
		return task == yolo.Detect
	case *sv.Graph:
		return task != yolo.Segment
	}
	return false
}

// checkLine reads a line back to pixels and holds it against the label.
func checkLine(t *testing.T, what string, task yolo.Task, line string, id int, l *sv.Label, ann *sv.ImageAnnotation, meta *sv.ProjectMeta) {
	t.Helper()
	f := strings.Fields(line)
	if !strings.HasSuffix(line, "\n") || f[0] != strconv.Itoa(id) {
		t.Fatalf("%s: line %q, want class %d first", what, line, id)
	}
	W, H := float64(ann.Width), float64(ann.Height)
	var px []float64 // denormalised; visibilities as they are
	for j, s := range f[1:] {
		if task == yolo.Pose && j >= 4 && (j-4)%3 == 2 {
			v, _ := strconv.Atoi(s)
			px = append(px, float64(v))
			continue
		}
		if !number.MatchString(s) {
			t.Fatalf("%s: %q is not a number of [0, 1] with 6 decimals", what, s)
		}
		v, _ := strconv.ParseFloat(s, 64)
		if task == yolo.Pose && j >= 4 {
			px = append(px, v*[]float64{W, H}[(j-4)%3])
		} else {
			px = append(px, v*[]float64{W, H}[j%2])
		}
	}
	near := func(got []float64, want ...float64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-6*max(W, H) {
				return false
			}
		}
		return true
	}
	if task == yolo.Segment {
		var want []float64
		switch g := l.Geometry.(type) {
		case *sv.Polygon:
			for _, p := range g.Exterior {
				want = append(want, p[0], p[1])
			}
		case *sv.Rectangle:
			want = []float64{g.Left, g.Top, g.Right, g.Top, g.Right, g.Bottom, g.Left, g.Bottom}
		}
		if !near(px, want...) {
			t.Errorf("%s: points %v, want %v", what, px, want)
		}
		return
	}
	b := labelBox(t, l.Geometry)
	// cx ± w/2 are the box's outer edges: left and right+1.
	if !near([]float64{px[0] - px[2]/2, px[1] - px[3]/2, px[0] + px[2]/2, px[1] + px[3]/2}, b.Left, b.Top, b.Right+1, b.Bottom+1) {
		t.Errorf("%s: box %v, want the label's pixels %+v", what, px[:4], b)
	}
	if task == yolo.Pose {
		checkKeypoints(t, what, px[4:], l.Geometry.(*sv.Graph), meta.Class(l.ClassTitle), near)
	}
}

// labelBox is a label's inclusive pixel box, worked out here from the geometry.
func labelBox(t *testing.T, g sv.Geometry) formats.Box {
	var ps []sv.Pt
	switch g := g.(type) {
	case *sv.Rectangle:
		ps = []sv.Pt{{g.Left, g.Top}, {g.Right, g.Bottom}}
	case *sv.Polygon:
		ps = g.Exterior
	case *sv.Graph:
		for _, n := range g.Nodes {
			ps = append(ps, n.Loc)
		}
	case *sv.Bitmap:
		origin, m, err := g.Mask()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range m.Bits {
			if v {
				ps = append(ps, sv.Pt{float64(origin[0] + i%m.W), float64(origin[1] + i/m.W)})
			}
		}
	}
	b := formats.Box{Left: math.Inf(1), Top: math.Inf(1), Right: math.Inf(-1), Bottom: math.Inf(-1)}
	for _, p := range ps {
		b = formats.Box{Left: min(b.Left, p[0]), Top: min(b.Top, p[1]), Right: max(b.Right, p[0]), Bottom: max(b.Bottom, p[1])}
	}
	return b
}

func checkKeypoints(t *testing.T, what string, kp []float64, g *sv.Graph, class *sv.ObjClass, near func([]float64, ...float64) bool) {
	t.Helper()
	tpl, _ := formats.ParseTemplate(class.GeometryConfig)
	var want []float64
	for _, id := range tpl.IDs {
		p := []float64{0, 0, 0}
		for _, n := range g.Nodes {
			if n.ID == id && !n.Disabled {
				p = []float64{n.Loc[0], n.Loc[1], 2}
			}
		}
		want = append(want, p...)
	}
	if !near(kp, want...) {
		t.Errorf("%s: keypoints %v, want %v", what, kp, want)
	}
}

// TestPosePadding: every pose line has kpt_shape[0] keypoints; a class with
// a smaller template is padded with 0 0 0.
func TestPosePadding(t *testing.T) {
	meta := svframes.Meta(t)
	meta.Classes = append(meta.Classes, sv.ObjClass{Title: "hand", Shape: "graph",
		GeometryConfig: []byte(`{"nodes":{"a":{"label":"wrist","loc":[0,0]},"b":{"loc":[1,1]},"c":{"loc":[2,2]}},"edges":[{"src":"a","dst":"b"},{"src":"b","dst":"c"}]}`)})
	conv, err := yolo.NewConverter(meta, yolo.Pose)
	if err != nil {
		t.Fatal(err)
	}
	if ks := conv.KptShape(); fmt.Sprint(ks) != "[3 3]" {
		t.Fatalf("kpt_shape %v, want [3 3]", ks)
	}
	ann, err := formats.ParseAnnotation([]byte(`{"size":{"height":10,"width":10},"tags":[],"objects":[
		{"classTitle":"person","tags":[],"geometryType":"graph","nodes":{"n2":{"loc":[4,6]},"n1":{"loc":[2,2]}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := conv.Labels(ann)
	if err != nil {
		t.Fatal(err)
	}
	if want := "5 0.350000 0.450000 0.300000 0.500000 0.200000 0.200000 2 0.400000 0.600000 2 0.000000 0.000000 0\n"; string(out) != want {
		t.Fatalf("pose line %q, want %q", out, want)
	}
}

// TestDataYAML: what Ultralytics reads: path empty (the file's folder),
// a key per split, names id → class, kpt_shape for pose; class titles that
// YAML would misread are quoted.
func TestDataYAML(t *testing.T) {
	meta := svframes.Meta(t)
	meta.Classes = append(meta.Classes, sv.ObjClass{Title: "yes: no #1", Shape: "rectangle"})
	b, err := yolo.DataYAML(meta, yolo.Pose, []string{"val", "train"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	names := map[int]any{}
	for i, c := range meta.Classes {
		names[i] = c.Title
	}
	want := map[string]any{"path": "", "train": "images/train", "val": "images/val", "names": names, "kpt_shape": []any{2, 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("data.yaml reads %v, want %v:\n%s", got, want, b)
	}
	if s, err := yolo.Splits(b); err != nil || fmt.Sprint(s) != "[train val]" {
		t.Fatalf("Splits: %v %v", s, err)
	}
	det, _ := yolo.DataYAML(meta, yolo.Detect, []string{"train"})
	if strings.Contains(string(det), "kpt_shape") {
		t.Fatalf("detect's data.yaml has kpt_shape:\n%s", det)
	}
}
