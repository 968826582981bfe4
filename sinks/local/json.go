package local

import (
	"bytes"
	"encoding/json"
)

// marshalIndent writes JSON as the Python SDK does for local files (indent 4),
// without escaping <, > and &.
func marshalIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
