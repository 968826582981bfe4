package supervisely

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// ToSubpixel converts an image annotation in pixel coordinates to what
// annotations.bulk.add takes (§2.3, Annotation._to_subpixel_coordinate_system_json):
// rectangles get right = max(left, right+1), bottom = max(top, bottom+1);
// points, polygons and lines +0.5 on every point; bitmap origins are floored;
// graph nodes go to floor+0.5.
func ToSubpixel(ann []byte) (json.RawMessage, error) { return subpixel(ann, true) }

// FromSubpixel is what the SDK applies to downloaded image annotations
// (Annotation._to_pixel_coordinate_system_json), which is not quite the
// reverse: points, polygons, lines and graph nodes are floored, less 1 where a
// coordinate equals the image's width (x) or height (y); bitmap origins are
// floored; a rectangle's sorted sides are rounded to the pixel they overlap by
// at least 0.3 (Rectangle._round_subpixel_coordinates; a box within one pixel
// is truncated), then right = max(left, right-1), bottom = max(top, bottom-1).
func FromSubpixel(ann []byte) (json.RawMessage, error) { return subpixel(ann, false) }

func subpixel(ann []byte, to bool) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(ann))
	dec.UseNumber()
	var a map[string]any
	if err := dec.Decode(&a); err != nil {
		return nil, err
	}
	// the image size, for FromSubpixel's edge rule (none when size is null)
	w, h := math.NaN(), math.NaN()
	if size, ok := a["size"].(map[string]any); ok {
		wh := pt([]any{size["width"], size["height"]})
		w, h = wh[0], wh[1]
	}
	objs, _ := a["objects"].([]any)
	for i, o := range objs {
		obj, ok := o.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("objects[%d]: not an object", i)
		}
		typ, _ := obj["geometryType"].(string)
		switch typ {
		case TypeRectangle:
			pts, _ := obj["points"].(map[string]any)
			ext, _ := pts["exterior"].([]any)
			if len(ext) != 2 {
				return nil, fmt.Errorf("objects[%d]: a rectangle needs 2 points", i)
			}
			a0, b0 := pt(ext[0]), pt(ext[1])
			l, t, r, b := math.Min(a0[0], b0[0]), math.Min(a0[1], b0[1]), math.Max(a0[0], b0[0]), math.Max(a0[1], b0[1])
			if to {
				r, b = math.Max(l, r+1), math.Max(t, b+1)
			} else {
				t, l, b, r = roundSubpixel(t, l, b, r)
				r, b = math.Max(l, r-1), math.Max(t, b-1)
			}
			pts["exterior"] = []any{num(l, t), num(r, b)}
		case TypePoint, TypePolygon, TypeLine:
			pts, _ := obj["points"].(map[string]any)
			move := func(p [2]float64) []any { return num(p[0]+0.5, p[1]+0.5) }
			if !to {
				move = func(p [2]float64) []any { return num(toPixel(p[0], w), toPixel(p[1], h)) }
			}
			ext, _ := pts["exterior"].([]any)
			pts["exterior"] = each(ext, move)
			if in, ok := pts["interior"].([]any); ok {
				for k, ring := range in {
					r, _ := ring.([]any)
					in[k] = each(r, move)
				}
			}
		case TypeBitmap:
			bm, _ := obj["bitmap"].(map[string]any)
			if o, ok := bm["origin"].([]any); ok && len(o) == 2 {
				p := pt(o)
				bm["origin"] = num(math.Floor(p[0]), math.Floor(p[1]))
			}
		case TypeGraph:
			nodes, _ := obj["nodes"].(map[string]any)
			for _, n := range nodes {
				nm, _ := n.(map[string]any)
				if loc, ok := nm["loc"].([]any); ok && len(loc) == 2 {
					p := pt(loc)
					if to {
						nm["loc"] = num(math.Floor(p[0])+0.5, math.Floor(p[1])+0.5)
					} else {
						nm["loc"] = num(toPixel(p[0], w), toPixel(p[1], h))
					}
				}
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

func pt(v any) [2]float64 {
	l, _ := v.([]any)
	var p [2]float64
	for i := 0; i < 2 && i < len(l); i++ {
		switch x := l[i].(type) {
		case json.Number:
			p[i], _ = x.Float64()
		case float64:
			p[i] = x
		}
	}
	return p
}

func num(x, y float64) []any { return []any{x, y} }

func each(ps []any, f func([2]float64) []any) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = f(pt(p))
	}
	return out
}

// toPixel is the SDK's floor(v) - 1 if v == size else floor(v).
func toPixel(v, size float64) float64 {
	if v == size {
		return math.Floor(v) - 1
	}
	return math.Floor(v) + 0
}

// roundSubpixel is Rectangle._round_subpixel_coordinates: a top or left side
// goes to the next pixel when it covers no more than 0.3 of its own, a bottom
// or right side when it covers at least 0.3 of the next; a box within one
// pixel (by int(), which truncates) is truncated.
func roundSubpixel(top, left, bottom, right float64) (t, l, b, r float64) {
	if math.Trunc(top) == math.Trunc(bottom) && math.Trunc(left) == math.Trunc(right) {
		return math.Trunc(top) + 0, math.Trunc(left) + 0, math.Trunc(bottom) + 0, math.Trunc(right) + 0
	}
	side := func(v, at float64) float64 {
		if v-math.Floor(v) >= at { // Python's v % 1
			return math.Ceil(v) + 0
		}
		return math.Floor(v) + 0
	}
	return side(top, 1-0.3), side(left, 1-0.3), side(bottom, 0.3), side(right, 0.3)
}
