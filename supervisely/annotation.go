package supervisely

import (
	"encoding/json"
	"fmt"
)

// Size is an annotation's image size; nil sides mean unknown (no cropping).
type Size struct {
	Height *int `json:"height"`
	Width  *int `json:"width"`
}

// Tag is an image or label tag (§6.1); a video tag adds a frame range.
type Tag struct {
	Name         string
	Value        json.RawMessage // absent for value type none
	LabelerLogin string
	// FrameRange is [from, to], inclusive; nil = the whole video.
	FrameRange *[2]int
	raw        map[string]json.RawMessage
}

func (t *Tag) UnmarshalJSON(b []byte) error {
	m, _, err := splitKnown(b)
	if err != nil {
		return err
	}
	t.raw = m
	if err := field(m, "name", &t.Name); err != nil {
		return err
	}
	if t.Name == "" {
		return &PathError{Path: "name", Err: fmt.Errorf("missing or empty")}
	}
	t.Value = m["value"]
	if err := field(m, "labelerLogin", &t.LabelerLogin); err != nil {
		return err
	}
	if err := field(m, "frameRange", &t.FrameRange); err != nil {
		return err
	}
	if r := t.FrameRange; r != nil && (r[0] < 0 || r[1] < r[0]) {
		return &PathError{Path: "frameRange", Err: fmt.Errorf("[%d, %d] is not a range", r[0], r[1])}
	}
	return nil
}

func (t Tag) MarshalJSON() ([]byte, error) {
	if t.raw != nil {
		return marshalRaw(t.raw)
	}
	var o object
	o.add("name", t.Name)
	if len(t.Value) > 0 {
		o.add("value", t.Value)
	}
	if t.LabelerLogin != "" {
		o.add("labelerLogin", t.LabelerLogin)
	}
	return o.marshal(nil)
}

// Covers tells whether the tag applies to frame i.
func (t *Tag) Covers(i int) bool {
	return t.FrameRange == nil || (t.FrameRange[0] <= i && i <= t.FrameRange[1])
}

// VideoObject is an object (track) of a video annotation.
type VideoObject struct {
	Key          string // local form
	ID           *int64 // server form
	ClassTitle   string
	LabelerLogin string
	Tags         []Tag
	raw          map[string]json.RawMessage
}

// Figure is one object's geometry on one frame.
type Figure struct {
	Key       string
	ObjectKey string
	ObjectID  *int64
	Geometry  Geometry
	TrackID   json.RawMessage // null or absent = not tracked
	raw       map[string]json.RawMessage
}

// Frame lists a frame's figures.
type Frame struct {
	Index   int
	Figures []Figure
	raw     map[string]json.RawMessage
}

// VideoAnnotation is a video's annotation, local form (key/objectKey) or server
// form (id/objectId) (§6.2).
type VideoAnnotation struct {
	Size        Size
	FramesCount int
	Tags        []Tag
	Objects     []VideoObject
	Frames      []Frame
	raw         map[string]json.RawMessage
}

// ParseVideoAnnotation reads and checks a video annotation; errors carry the JSON path.
func ParseVideoAnnotation(b []byte) (*VideoAnnotation, error) {
	var va VideoAnnotation
	if err := json.Unmarshal(b, &va); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("not valid JSON at byte %d: %w", se.Offset, err)
		}
		return nil, err
	}
	return &va, nil
}

func (va *VideoAnnotation) UnmarshalJSON(b []byte) error {
	m, _, err := splitKnown(b)
	if err != nil {
		return err
	}
	va.raw = m
	if err := field(m, "size", &va.Size); err != nil {
		return err
	}
	if err := field(m, "framesCount", &va.FramesCount); err != nil {
		return err
	}
	var tags, objects, frames []json.RawMessage
	for _, f := range []struct {
		k string
		v *[]json.RawMessage
	}{{"tags", &tags}, {"objects", &objects}, {"frames", &frames}} {
		if err := field(m, f.k, f.v); err != nil {
			return err
		}
	}
	for i, t := range tags {
		var tag Tag
		if err := json.Unmarshal(t, &tag); err != nil {
			return at(fmt.Sprintf("tags[%d]", i), err)
		}
		va.Tags = append(va.Tags, tag)
	}
	for i, o := range objects {
		var obj VideoObject
		if err := obj.unmarshal(o); err != nil {
			return at(fmt.Sprintf("objects[%d]", i), err)
		}
		va.Objects = append(va.Objects, obj)
	}
	for i, f := range frames {
		var fr Frame
		if err := fr.unmarshal(f); err != nil {
			return at(fmt.Sprintf("frames[%d]", i), err)
		}
		va.Frames = append(va.Frames, fr)
	}
	return nil
}

func (o *VideoObject) unmarshal(b []byte) error {
	m, _, err := splitKnown(b)
	if err != nil {
		return err
	}
	o.raw = m
	for _, f := range []struct {
		k string
		v any
	}{{"key", &o.Key}, {"id", &o.ID}, {"classTitle", &o.ClassTitle}, {"labelerLogin", &o.LabelerLogin}} {
		if err := field(m, f.k, f.v); err != nil {
			return err
		}
	}
	if o.ClassTitle == "" {
		return &PathError{Path: "classTitle", Err: fmt.Errorf("missing or empty")}
	}
	if o.Key == "" && o.ID == nil {
		return &PathError{Path: "key", Err: fmt.Errorf("an object needs a key (local form) or an id (server form)")}
	}
	var tags []json.RawMessage
	if err := field(m, "tags", &tags); err != nil {
		return err
	}
	for i, t := range tags {
		var tag Tag
		if err := json.Unmarshal(t, &tag); err != nil {
			return at(fmt.Sprintf("tags[%d]", i), err)
		}
		o.Tags = append(o.Tags, tag)
	}
	return nil
}

func (f *Frame) unmarshal(b []byte) error {
	m, _, err := splitKnown(b)
	if err != nil {
		return err
	}
	f.raw = m
	if _, ok := m["index"]; !ok {
		return &PathError{Path: "index", Err: fmt.Errorf("missing")}
	}
	if err := field(m, "index", &f.Index); err != nil {
		return err
	}
	if f.Index < 0 {
		return &PathError{Path: "index", Err: fmt.Errorf("negative frame index %d", f.Index)}
	}
	var figs []json.RawMessage
	if err := field(m, "figures", &figs); err != nil {
		return err
	}
	for i, g := range figs {
		var fig Figure
		if err := fig.unmarshal(g); err != nil {
			return at(fmt.Sprintf("figures[%d]", i), err)
		}
		f.Figures = append(f.Figures, fig)
	}
	return nil
}

func (f *Figure) unmarshal(b []byte) error {
	m, _, err := splitKnown(b)
	if err != nil {
		return err
	}
	f.raw = m
	var typ string
	for _, x := range []struct {
		k string
		v any
	}{{"key", &f.Key}, {"objectKey", &f.ObjectKey}, {"objectId", &f.ObjectID}, {"geometryType", &typ}} {
		if err := field(m, x.k, x.v); err != nil {
			return err
		}
	}
	if typ == "" {
		return &PathError{Path: "geometryType", Err: fmt.Errorf("missing or empty")}
	}
	if f.ObjectKey == "" && f.ObjectID == nil {
		return &PathError{Path: "objectKey", Err: fmt.Errorf("a figure needs objectKey (local form) or objectId (server form)")}
	}
	var g map[string]json.RawMessage
	if err := field(m, "geometry", &g); err != nil {
		return err
	}
	if g == nil {
		return &PathError{Path: "geometry", Err: fmt.Errorf("missing")}
	}
	geo, err := ParseGeometry(typ, g)
	if err != nil {
		return at("geometry", err)
	}
	f.Geometry = geo
	if t, ok := m["trackId"]; ok && string(t) != "null" {
		f.TrackID = t
	}
	return nil
}

// Key is the annotation's own key (the video's key in key_id_map.json), or "".
func (va *VideoAnnotation) Key() string {
	var k string
	if raw, ok := va.raw["key"]; ok {
		_ = json.Unmarshal(raw, &k)
	}
	return k
}

func (va VideoAnnotation) MarshalJSON() ([]byte, error) { return marshalRaw(va.raw) }

func marshalRaw(m map[string]json.RawMessage) ([]byte, error) {
	var o object
	for _, k := range sortedKeys(m) {
		o.add(k, m[k])
	}
	return o.marshal(nil)
}

// KeyIdMap is key_id_map.json: uuid hex → server id, per kind (§6.3).
type KeyIdMap struct {
	Tags    map[string]*int64 `json:"tags"`
	Objects map[string]*int64 `json:"objects"`
	Figures map[string]*int64 `json:"figures"`
	Videos  map[string]*int64 `json:"videos"`
}

// ParseKeyIdMap reads key_id_map.json.
func ParseKeyIdMap(b []byte) (*KeyIdMap, error) {
	var k KeyIdMap
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, err
	}
	return &k, nil
}
