package supervisely_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/crop"
)

// fractional reads testdata/fractional.mp4.json, a 200x100 video annotation
// whose coordinates are fractional (each figure's expectation is commented in
// the generator that made it; the key ones are asserted below).
func fractional(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/fractional.mp4.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleAll(t *testing.T, b []byte, sizes [][2]int) map[string]string {
	t.Helper()
	_, meta, _ := load(t)
	ann, err := sv.ParseVideoAnnotation(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sv.NewSampler(ann, meta, nil, sv.Video{Frames: 2, Width: 200, Height: 100}, crop.GEOS{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, fr := range []int{0, 1} {
		for _, sz := range sizes {
			img, skipped, err := s.Image(fr, sz[0], sz[1])
			if err != nil || len(skipped) != 0 {
				t.Fatalf("frame %d at %dx%d: %v %v", fr, sz[0], sz[1], err, skipped)
			}
			j, err := json.Marshal(img)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("fractional_frame%02d_%dx%d.json", fr, sz[0], sz[1])] = string(j)
		}
	}
	return out
}

var fractionalSizes = [][2]int{{200, 100}, {400, 200}, {80, 40}}

// TestFractionalCoordinates: the SDK floors every coordinate as it reads it
// (PointLocation, reference §5), before resizing and cropping. The fixture's
// frames, at their own size, at 2x and at 0.4x, are checked against golden
// files (hand-checked), and the values that show the rule are asserted here:
// a vertex at 10.7 is 10, -0.5 is -1, a rectangle's fractional corners are
// sorted and floored, points that floor onto the last pixel stay, points that
// floor to -1 go.
func TestFractionalCoordinates(t *testing.T) {
	got := sampleAll(t, fractional(t), fractionalSizes)
	for name, j := range got {
		golden(t, name, []byte(j))
	}
	for _, c := range []struct{ name, want string }{
		// 200x100, frame 0: nothing is cropped once floored
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[10,5],[50,20]],"interior":[]},"geometryType":"rectangle"`},
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[10,10],[60,10],[35,40]],"interior":[[[30,20],[40,20],[35,30]]]},"geometryType":"polygon"`},
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[100,50],[120,60],[120,60]],"interior":[]},"geometryType":"polygon"`},
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[10,90],[199,99]],"interior":[]},"geometryType":"line"`},
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[199,99]],"interior":[]},"geometryType":"point"`},
		{"fractional_frame00_200x100.json", `"points":{"exterior":[[0,5]],"interior":[]},"geometryType":"point"`},
		{"fractional_frame00_200x100.json", `"bitmap":{"origin":[20,30]`},
		{"fractional_frame00_200x100.json", `"nodes":{"n1":{"loc":[199,0]},"n2":{"loc":[0,99],"disabled":true}}`},
		// 2x: each floored value doubled (a rectangle and polygon of integers)
		{"fractional_frame00_400x200.json", `"points":{"exterior":[[20,10],[100,40]],"interior":[]},"geometryType":"rectangle"`},
		{"fractional_frame00_400x200.json", `"points":{"exterior":[[20,20],[120,20],[70,80]],"interior":[[[60,40],[80,40],[70,60]]]},"geometryType":"polygon"`},
		// frame 1: -0.5 is -1, so at 2x the rectangle is [[-2,-2],[0,0]], cropped
		// to one pixel [[0,0],[0,0]] (from -0.5 and 0.4 unfloored it would be [[0,0],[1,1]])
		{"fractional_frame01_400x200.json", `"points":{"exterior":[[0,0],[0,0]],"interior":[]},"geometryType":"rectangle"`},
		{"fractional_frame01_200x100.json", `"points":{"exterior":[[0,0],[0,0]],"interior":[]},"geometryType":"rectangle"`},
		// the line from [-1,20] to [40,20] cropped at x = 0
		{"fractional_frame01_200x100.json", `"points":{"exterior":[[0,20],[40,20]],"interior":[]},"geometryType":"line"`},
		// the bitmap at [-1,-1] loses its first row and column
		{"fractional_frame01_200x100.json", `"bitmap":{"origin":[0,0]`},
	} {
		if !strings.Contains(got[c.name], c.want) {
			t.Errorf("%s lacks %s:\n%s", c.name, c.want, got[c.name])
		}
	}
	// 0.4x: the point [-1,3] and the graph's node [10,-1] would scale back in
	// (round(-0.4) = 0), but the SDK crops at the frame before it resizes
	{
		want := `"points":{"exterior":[[12,4],[12,16],[0,4],[0,4]],"interior":[]},"geometryType":"polygon"`
		if !strings.Contains(got["fractional_frame01_80x40.json"], want) {
			t.Errorf("frame 1 at 80x40: want the polygon cropped at the frame, then scaled: %s", want)
		}
	}
	for _, name := range []string{"fractional_frame01_200x100.json", "fractional_frame01_400x200.json", "fractional_frame01_80x40.json"} {
		// the point and the graph floored to x or y = -1 are dropped
		if strings.Contains(got[name], `"geometryType":"point"`) || strings.Contains(got[name], `"geometryType":"graph"`) {
			t.Errorf("%s keeps a point or graph floored outside:\n%s", name, got[name])
		}
	}
	for name, j := range got {
		dec := json.NewDecoder(strings.NewReader(j))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		for _, n := range numbers(v, nil) {
			if _, err := strconv.Atoi(string(n)); err != nil || n == "-0" {
				t.Errorf("%s: %s is not an integer as the SDK writes it", name, n)
			}
		}
	}
}

// numbers lists every number in v.
func numbers(v any, acc []json.Number) []json.Number {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			acc = numbers(e, acc)
		}
	case []any:
		for _, e := range x {
			acc = numbers(e, acc)
		}
	case json.Number:
		acc = append(acc, x)
	}
	return acc
}

// floorAll floors every number of v except inside a bitmap's data.
func floorAll(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = floorAll(e)
		}
	case []any:
		for i, e := range x {
			x[i] = floorAll(e)
		}
	case json.Number:
		f, _ := x.Float64()
		return json.Number(strconv.FormatFloat(math.Floor(f)+0, 'f', -1, 64))
	}
	return v
}

// TestFractionalEqualsFloored: floored where it is read, a fractional annotation
// gives at every size the very images its floored twin gives, so the floor comes
// before resize and crop, for every geometry type; and the server form (objects
// by id, figures by objectId) is read alike, with no subpixel shift (video
// annotations are not converted, §2.3).
func TestFractionalEqualsFloored(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(string(fractional(t))))
	dec.UseNumber()
	var a map[string]any
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	frames := a["frames"]
	a["frames"] = floorAll(frames)
	floored, _ := json.Marshal(a)
	if strings.Contains(string(floored), ".5") {
		t.Fatal("floorAll left fractions")
	}
	want := sampleAll(t, fractional(t), fractionalSizes)
	for name, j := range sampleAll(t, floored, fractionalSizes) {
		if j != want[name] {
			t.Errorf("%s: the floored twin gives\n%s\nthe fractional one\n%s", name, j, want[name])
		}
	}

	// the server form of the fractional annotation
	dec = json.NewDecoder(strings.NewReader(string(fractional(t))))
	dec.UseNumber()
	a = nil
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, o := range a["objects"].([]any) {
		om := o.(map[string]any)
		ids[om["key"].(string)] = 500 + i
		delete(om, "key")
		om["id"] = 500 + i
	}
	for _, f := range a["frames"].([]any) {
		for j, g := range f.(map[string]any)["figures"].([]any) {
			gm := g.(map[string]any)
			gm["objectId"] = ids[gm["objectKey"].(string)]
			delete(gm, "objectKey")
			delete(gm, "key")
			gm["id"] = 900 + j
		}
	}
	server, _ := json.Marshal(a)
	got := sampleAll(t, server, fractionalSizes)
	for name, j := range got {
		// object_id is the server id here, the position in the local form
		for i := 0; i < 6; i++ {
			j = strings.ReplaceAll(j, fmt.Sprintf(`{"name":"object_id","value":%d}`, 500+i), fmt.Sprintf(`{"name":"object_id","value":%d}`, i+1))
		}
		if j != want[name] {
			t.Errorf("%s: the server form gives\n%s\nthe local form\n%s", name, j, want[name])
		}
	}
}

// TestApplyCropsAtTheTurnedFrame: with a 90° turn and a 0.4 scale, the point
// stored at [0, 10] (one below the 20x10 frame) turns to [-1, 0], outside the
// upright 10x20 frame: Apply drops it there, as the SDK's annotation at the
// video's size would, where scaling first would round it back to [0, 0].
func TestApplyCropsAtTheTurnedFrame(t *testing.T) {
	tf := &sv.Transform{SrcW: 20, SrcH: 10, Turn: 90, FX: 0.4, FY: 0.4, W: 4, H: 8, Crop: crop.GEOS{}}
	p := &sv.Point{P: sv.Pt{0, 10}}
	if got, err := tf.Apply(p); err != nil || len(got) != 0 {
		t.Errorf("Apply: %v %v, want the point dropped", got, err)
	}
	if got, err := p.Transform(tf); err != nil || len(got) != 1 || got[0].(*sv.Point).P != (sv.Pt{0, 0}) {
		t.Errorf("Transform alone: %v %v, want [0, 0]", got, err)
	}
	// inside the frame: stored [3, 2] turns to [7, 3], scaled to [3, 1] (2.8, 1.2)
	if got, err := tf.Apply(&sv.Point{P: sv.Pt{3, 2}}); err != nil || len(got) != 1 || got[0].(*sv.Point).P != (sv.Pt{3, 1}) {
		t.Errorf("Apply: %v %v, want [3, 1]", got, err)
	}
}
