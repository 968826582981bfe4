package supervisely

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ObjClass is a class of the project meta.
type ObjClass struct {
	ID             *int64
	Title          string
	Description    string
	Shape          string
	Color          string
	GeometryConfig json.RawMessage
	Hotkey         string
	Extra          Extra
}

// TagMeta is a tag definition of the project meta.
type TagMeta struct {
	ID             *int64
	Name           string
	ValueType      string
	Values         []string
	Color          string
	Hotkey         string
	ApplicableType string
	Classes        []string
	TargetType     string
	Extra          Extra
}

// ProjectMeta is meta.json / projects.meta.
type ProjectMeta struct {
	Classes         []ObjClass
	Tags            []TagMeta
	ProjectType     string
	ProjectSettings json.RawMessage
	Extra           Extra
}

// Tag value types.
const (
	ValueNone      = "none"
	ValueAnyNumber = "any_number"
	ValueAnyString = "any_string"
	ValueOneOf     = "oneof_string"
	ValueDate      = "date"
)

// DefaultSettings is what the SDK writes when a meta has no projectSettings.
var DefaultSettings = json.RawMessage(`{"multiView":{"enabled":false,"tagName":null,"tagId":null,"isSynced":false}}`)

func (c *ObjClass) UnmarshalJSON(b []byte) error {
	m, extra, err := splitKnown(b, "id", "title", "description", "shape", "color", "geometry_config", "hotkey")
	if err != nil {
		return err
	}
	c.Extra = extra
	for _, f := range []struct {
		k string
		v any
	}{{"id", &c.ID}, {"title", &c.Title}, {"description", &c.Description}, {"shape", &c.Shape},
		{"color", &c.Color}, {"geometry_config", &c.GeometryConfig}, {"hotkey", &c.Hotkey}} {
		if err := field(m, f.k, f.v); err != nil {
			return err
		}
	}
	if c.Title == "" {
		return &PathError{Path: "title", Err: fmt.Errorf("missing or empty")}
	}
	if c.Shape == "" {
		return &PathError{Path: "shape", Err: fmt.Errorf("missing or empty")}
	}
	return nil
}

func (c ObjClass) MarshalJSON() ([]byte, error) {
	var o object
	if c.ID != nil {
		o.add("id", *c.ID)
	}
	o.add("title", c.Title)
	o.add("description", c.Description)
	o.add("shape", c.Shape)
	o.add("color", strings.ToUpper(c.Color))
	gc := c.GeometryConfig
	if len(gc) == 0 {
		gc = json.RawMessage("{}")
	}
	o.add("geometry_config", gc)
	o.add("hotkey", c.Hotkey)
	return o.marshal(c.Extra)
}

func (t *TagMeta) UnmarshalJSON(b []byte) error {
	m, extra, err := splitKnown(b, "id", "name", "value_type", "values", "color", "hotkey", "applicable_type", "classes", "target_type")
	if err != nil {
		return err
	}
	t.Extra = extra
	for _, f := range []struct {
		k string
		v any
	}{{"id", &t.ID}, {"name", &t.Name}, {"value_type", &t.ValueType}, {"values", &t.Values}, {"color", &t.Color},
		{"hotkey", &t.Hotkey}, {"applicable_type", &t.ApplicableType}, {"classes", &t.Classes}, {"target_type", &t.TargetType}} {
		if err := field(m, f.k, f.v); err != nil {
			return err
		}
	}
	if t.Name == "" {
		return &PathError{Path: "name", Err: fmt.Errorf("missing or empty")}
	}
	switch t.ValueType {
	case ValueNone, ValueAnyNumber, ValueAnyString, ValueDate:
	case ValueOneOf:
		if t.Values == nil {
			return &PathError{Path: "values", Err: fmt.Errorf("required for oneof_string")}
		}
	default:
		return &PathError{Path: "value_type", Err: fmt.Errorf("unknown value type %q", t.ValueType)}
	}
	return nil
}

func (t TagMeta) MarshalJSON() ([]byte, error) {
	var o object
	if t.ID != nil {
		o.add("id", *t.ID)
	}
	o.add("name", t.Name)
	o.add("value_type", t.ValueType)
	if t.ValueType == ValueOneOf {
		o.add("values", nonNil(t.Values))
	}
	o.add("color", strings.ToUpper(t.Color))
	o.add("hotkey", t.Hotkey)
	o.add("applicable_type", or(t.ApplicableType, "all"))
	o.add("classes", nonNil(t.Classes))
	o.add("target_type", or(t.TargetType, "all"))
	return o.marshal(t.Extra)
}

func (m *ProjectMeta) UnmarshalJSON(b []byte) error {
	raw, extra, err := splitKnown(b, "classes", "tags", "tags_images", "tags_objects", "projectType", "projectSettings")
	if err != nil {
		return err
	}
	m.Extra = extra
	if err := field(raw, "projectType", &m.ProjectType); err != nil {
		return err
	}
	if err := field(raw, "projectSettings", &m.ProjectSettings); err != nil {
		return err
	}
	var classes []json.RawMessage
	if err := field(raw, "classes", &classes); err != nil {
		return err
	}
	for i, c := range classes {
		var oc ObjClass
		if err := json.Unmarshal(c, &oc); err != nil {
			return at(fmt.Sprintf("classes[%d]", i), err)
		}
		m.Classes = append(m.Classes, oc)
	}
	_, hasTags := raw["tags"]
	_, hasImg := raw["tags_images"]
	_, hasObj := raw["tags_objects"]
	if hasTags && (hasImg || hasObj) {
		return &PathError{Path: "tags", Err: fmt.Errorf("both tags and the legacy tags_images/tags_objects")}
	}
	for _, key := range []string{"tags", "tags_images", "tags_objects"} {
		var tags []json.RawMessage
		if err := field(raw, key, &tags); err != nil {
			return err
		}
		for i, t := range tags {
			var tm TagMeta
			if err := json.Unmarshal(t, &tm); err != nil {
				return at(fmt.Sprintf("%s[%d]", key, i), err)
			}
			if m.TagMeta(tm.Name) == nil {
				m.Tags = append(m.Tags, tm)
			}
		}
	}
	return nil
}

func (m ProjectMeta) MarshalJSON() ([]byte, error) {
	var o object
	o.add("classes", nonNilSlice(m.Classes))
	o.add("tags", nonNilSlice(m.Tags))
	if m.ProjectType != "" {
		o.add("projectType", m.ProjectType)
	}
	s := m.ProjectSettings
	if len(s) == 0 || string(s) == "null" {
		s = DefaultSettings
	}
	o.add("projectSettings", s)
	return o.marshal(m.Extra)
}

// Class finds a class by title.
func (m *ProjectMeta) Class(title string) *ObjClass {
	for i := range m.Classes {
		if m.Classes[i].Title == title {
			return &m.Classes[i]
		}
	}
	return nil
}

// TagMeta finds a tag meta by name.
func (m *ProjectMeta) TagMeta(name string) *TagMeta {
	for i := range m.Tags {
		if m.Tags[i].Name == name {
			return &m.Tags[i]
		}
	}
	return nil
}

// Merge returns a merged with b, as the SDK's a.merge(b): items of b whose key is
// not in a come first, then all of a; a key in both must name equal items.
func Merge(a, b *ProjectMeta) (*ProjectMeta, error) {
	out := &ProjectMeta{ProjectType: a.ProjectType, ProjectSettings: a.ProjectSettings, Extra: a.Extra}
	for _, c := range b.Classes {
		if ac := a.Class(c.Title); ac != nil {
			if !classesEqual(ac, &c) {
				return nil, fmt.Errorf("class %q: shape %s with geometry_config %s here, shape %s with geometry_config %s there",
					c.Title, ac.Shape, orJSON(ac.GeometryConfig), c.Shape, orJSON(c.GeometryConfig))
			}
			continue
		}
		out.Classes = append(out.Classes, c)
	}
	out.Classes = append(out.Classes, a.Classes...)
	for _, t := range b.Tags {
		if at := a.TagMeta(t.Name); at != nil {
			if at.ValueType != t.ValueType || strings.Join(at.Values, "\x00") != strings.Join(t.Values, "\x00") {
				return nil, fmt.Errorf("tag %q: value type %s %v here, %s %v there", t.Name, at.ValueType, at.Values, t.ValueType, t.Values)
			}
			continue
		}
		out.Tags = append(out.Tags, t)
	}
	out.Tags = append(out.Tags, a.Tags...)
	return out, nil
}

func classesEqual(a, b *ObjClass) bool {
	if a.Shape != b.Shape && a.Shape != "any" && b.Shape != "any" {
		return false
	}
	return jsonEqual(orJSON(a.GeometryConfig), orJSON(b.GeometryConfig))
}

func orJSON(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return json.RawMessage("{}")
	}
	return r
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
