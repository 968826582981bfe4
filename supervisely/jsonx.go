// Package supervisely reads and writes Supervisely's JSON formats (project meta,
// video and image annotations, KeyIdMap, geometries; see the reference doc §4–§6)
// and turns a video frame's figures into an image annotation, scaled and cropped.
//
// Every type keeps the keys it does not model in Extra, so parsing and writing
// back gives equal JSON; unknown geometry types are carried as raw JSON.
package supervisely

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Extra holds JSON keys a type does not model, written back unchanged.
type Extra map[string]json.RawMessage

// splitKnown decodes data into a key → raw map and moves the keys not in known
// into Extra.
func splitKnown(data []byte, known ...string) (map[string]json.RawMessage, Extra, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, fmt.Errorf("want an object, got null")
	}
	var extra Extra
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for k, v := range m {
		if !isKnown[k] {
			if extra == nil {
				extra = Extra{}
			}
			extra[k] = v
		}
	}
	return m, extra, nil
}

// field decodes one key of m into v if present; path names it in errors.
func field(m map[string]json.RawMessage, key string, v any) error {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &PathError{Path: key, Err: err}
	}
	return nil
}

// PathError locates a problem inside a JSON document (e.g. frames[3].figures[0].objectKey).
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// at prefixes err's path with p.
func at(p string, err error) error {
	if err == nil {
		return nil
	}
	if pe, ok := err.(*PathError); ok {
		sep := "."
		if len(pe.Path) > 0 && pe.Path[0] == '[' {
			sep = ""
		}
		return &PathError{Path: p + sep + pe.Path, Err: pe.Err}
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
		return &PathError{Path: p + "." + te.Field, Err: fmt.Errorf("want %s, got %s", te.Type, te.Value)}
	}
	return &PathError{Path: p, Err: err}
}

// object writes ordered key/value pairs, then Extra in key order.
type object struct {
	keys []string
	vals []any
}

func (o *object) add(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o *object) marshal(extra Extra) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	write := func(k string, raw []byte) {
		if n > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(raw)
		n++
	}
	for i, k := range o.keys {
		raw, err := marshal(o.vals[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		write(k, raw)
	}
	ek := make([]string, 0, len(extra))
	for k := range extra {
		ek = append(ek, k)
	}
	sort.Strings(ek)
	for _, k := range ek {
		write(k, extra[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Indent formats JSON as the SDK writes local files (indent 4).
func Indent(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "    "); err != nil {
		return raw
	}
	b.WriteByte('\n')
	return b.Bytes()
}
