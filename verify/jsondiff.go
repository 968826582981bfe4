package verify

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// maxDiffs is how many differences of one file a mismatch names.
const maxDiffs = 4

// jsonDiffs compares two JSON documents as values (key order, spacing and
// number spelling aside) and names where they differ, at most maxDiffs
// places: "objects[0].points.exterior[0][0]: dataset 16, fresh 15" (made
// names the re-derived side: "video", "fresh").
func jsonDiffs(have, want any, made string) []string {
	var out []string
	walk("", normal(have), normal(want), func(path string, a, b any) bool {
		if path == "" {
			path = "(the whole document)"
		}
		out = append(out, fmt.Sprintf("%s: dataset %s, %s %s", path, show(a), made, show(b)))
		return len(out) < maxDiffs
	})
	return out
}

// normal is v as encoding/json reads it back (float64 numbers, []any,
// map[string]any), so a Go value and its file compare equal.
func normal(v any) any {
	if raw, ok := v.([]byte); ok {
		v = json.RawMessage(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// walk calls diff for each place a and b differ, in key order, until it
// returns false; it returns false once stopped.
func walk(path string, a, b any, diff func(path string, a, b any) bool) bool {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			return walkMap(path, x, y, diff)
		}
	case []any:
		if y, ok := b.([]any); ok && len(x) == len(y) {
			for i := range x {
				if !walk(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], diff) {
					return false
				}
			}
			return true
		}
	default:
		if a == b {
			return true
		}
	}
	return diff(path, a, b)
}

func walkMap(path string, x, y map[string]any, diff func(path string, a, b any) bool) bool {
	keys := map[string]bool{}
	for k := range x {
		keys[k] = true
	}
	for k := range y {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		p := k
		if path != "" {
			p = path + "." + k
		}
		a, inA := x[k]
		b, inB := y[k]
		if !inA {
			a = absent{}
		}
		if !inB {
			b = absent{}
		}
		if !walk(p, a, b, diff) {
			return false
		}
	}
	return true
}

// absent stands for a key one side does not have.
type absent struct{}

// show writes a value short: JSON, cut at 80 bytes.
func show(v any) string {
	if _, ok := v.(absent); ok {
		return "(none)"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strings.ReplaceAll(s, "\n", " ")
}
