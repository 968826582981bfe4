package registry

import (
	"fmt"
	"reflect"
)

// Field is one key of a config struct, read from its tags: `mapstructure`
// (the key), `doc` (one line for the reference) and `required:"true"`.
type Field struct {
	// Key is relative to the section; a nested struct's keys are "outer.inner".
	Key      string
	Doc      string
	Required bool
	Type     reflect.Type
	index    []int
}

// Fields lists the keys of a config struct (a pointer to a struct, as a
// Spec's Config returns it), in the struct's order. A field without a
// mapstructure tag, or tagged "-", is no key.
func Fields(conf any) []Field {
	t := reflect.TypeOf(conf)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("registry: a config is a pointer to a struct, got %T", conf))
	}
	var out []Field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Tag.Get("mapstructure")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			idx := append(append([]int{}, index...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+name+".", idx)
				continue
			}
			out = append(out, Field{Key: prefix + name, Doc: f.Tag.Get("doc"), Required: f.Tag.Get("required") == "true",
				Type: f.Type, index: idx})
		}
	}
	walk(t.Elem(), "", nil)
	return out
}

// Value is the field's value in conf (a pointer to the struct Fields read).
func (f Field) Value(conf any) reflect.Value {
	return reflect.ValueOf(conf).Elem().FieldByIndex(f.index)
}

// Missing lists the required keys conf leaves at their zero value.
func Missing(conf any) []string {
	var out []string
	for _, f := range Fields(conf) {
		if f.Required && f.Value(conf).IsZero() {
			out = append(out, f.Key)
		}
	}
	return out
}
