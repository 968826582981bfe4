package supervisely

import (
	"encoding/json"
	"fmt"
)

// Label is one object of an image annotation (§6.1).
type Label struct {
	ClassTitle  string
	Description string
	Tags        []Tag
	Geometry    Geometry
	NNCreated   bool
	NNUpdated   bool
	Extra       Extra
}

// ImageAnnotation is an image's annotation (§6.1), in pixel coordinates.
type ImageAnnotation struct {
	Description   string
	Height, Width int
	Tags          []Tag
	Objects       []Label
	CustomBigData json.RawMessage
	Extra         Extra
}

func (l Label) MarshalJSON() ([]byte, error) {
	var o object
	o.add("classTitle", l.ClassTitle)
	o.add("description", l.Description)
	o.add("tags", nonNilSlice(l.Tags))
	if err := l.Geometry.keys(&o); err != nil {
		return nil, err
	}
	o.add("geometryType", l.Geometry.Type())
	o.add("shape", l.Geometry.Type())
	o.add("nnCreated", l.NNCreated)
	o.add("nnUpdated", l.NNUpdated)
	return o.marshal(l.Extra)
}

func (a ImageAnnotation) MarshalJSON() ([]byte, error) {
	var o object
	o.add("description", a.Description)
	o.add("size", map[string]int{"height": a.Height, "width": a.Width})
	o.add("tags", nonNilSlice(a.Tags))
	o.add("objects", nonNilSlice(a.Objects))
	cbd := a.CustomBigData
	if len(cbd) == 0 {
		cbd = json.RawMessage("{}")
	}
	o.add("customBigData", cbd)
	return o.marshal(a.Extra)
}

func (l *Label) UnmarshalJSON(b []byte) error {
	m, extra, err := splitKnown(b, "classTitle", "description", "tags", "geometryType", "shape", "nnCreated", "nnUpdated")
	if err != nil {
		return err
	}
	var typ string
	for _, f := range []struct {
		k string
		v any
	}{{"classTitle", &l.ClassTitle}, {"description", &l.Description}, {"tags", &l.Tags}, {"geometryType", &typ},
		{"nnCreated", &l.NNCreated}, {"nnUpdated", &l.NNUpdated}} {
		if err := field(m, f.k, f.v); err != nil {
			return err
		}
	}
	if typ == "" {
		if err := field(m, "shape", &typ); err != nil || typ == "" {
			return &PathError{Path: "geometryType", Err: fmt.Errorf("missing")}
		}
	}
	// A known shape owns its own keys; an unknown one owns every key a label does not.
	knownShape := map[string]bool{TypeRectangle: true, TypePolygon: true, TypeLine: true, TypePoint: true, TypeBitmap: true, TypeGraph: true}[typ]
	geoKeys := map[string]json.RawMessage{}
	l.Extra = nil
	for k, v := range extra {
		if !knownShape || k == "points" || k == "bitmap" || k == "nodes" {
			geoKeys[k] = v
		} else {
			if l.Extra == nil {
				l.Extra = Extra{}
			}
			l.Extra[k] = v
		}
	}
	g, err := ParseGeometry(typ, geoKeys)
	if err != nil {
		return err
	}
	l.Geometry = g
	return nil
}

func (a *ImageAnnotation) UnmarshalJSON(b []byte) error {
	m, extra, err := splitKnown(b, "description", "size", "tags", "objects", "customBigData")
	if err != nil {
		return err
	}
	a.Extra = extra
	var size Size
	if err := field(m, "size", &size); err != nil {
		return err
	}
	if size.Height != nil {
		a.Height = *size.Height
	}
	if size.Width != nil {
		a.Width = *size.Width
	}
	if err := field(m, "description", &a.Description); err != nil {
		return err
	}
	if err := field(m, "tags", &a.Tags); err != nil {
		return err
	}
	if err := field(m, "customBigData", &a.CustomBigData); err != nil {
		return err
	}
	var objs []json.RawMessage
	if err := field(m, "objects", &objs); err != nil {
		return err
	}
	for i, o := range objs {
		var l Label
		if err := json.Unmarshal(o, &l); err != nil {
			return at(fmt.Sprintf("objects[%d]", i), err)
		}
		a.Objects = append(a.Objects, l)
	}
	return nil
}
