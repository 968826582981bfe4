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

// FromSubpixel is the reverse, as the SDK applies to downloaded image annotations.
func FromSubpixel(ann []byte) (json.RawMessage, error) { return subpixel(ann, false) }

func subpixel(ann []byte, to bool) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(ann))
	dec.UseNumber()
	var a map[string]any
	if err := dec.Decode(&a); err != nil {
		return nil, err
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
				r, b = math.Max(l, r-1), math.Max(t, b-1)
			}
			pts["exterior"] = []any{num(l, t), num(r, b)}
		case TypePoint, TypePolygon, TypeLine:
			pts, _ := obj["points"].(map[string]any)
			d := 0.5
			if !to {
				d = -0.5
			}
			ext, _ := pts["exterior"].([]any)
			pts["exterior"] = shift(ext, d)
			if in, ok := pts["interior"].([]any); ok {
				for k, ring := range in {
					r, _ := ring.([]any)
					in[k] = shift(r, d)
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
						nm["loc"] = num(math.Floor(p[0]), math.Floor(p[1]))
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

func shift(ps []any, d float64) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		q := pt(p)
		out[i] = num(q[0]+d, q[1]+d)
	}
	return out
}
