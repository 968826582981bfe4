package core

// OutputWithDefaults reads recorded output settings (custom data under
// OutputKey) as they are meant: settings recorded before vpipe wrote other
// formats have no "format", and their images are PNGs. It returns a copy; v
// that is not a settings object is returned as it is.
func OutputWithDefaults(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if _, has := m["format"]; has {
		return v
	}
	out := make(map[string]any, len(m)+1)
	for k, x := range m {
		out[k] = x
	}
	out["format"] = "png"
	return out
}
