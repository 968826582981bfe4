package sampling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// FramesFile is a curated set: per video, frame indices or times. In JSON:
//
//	{"clip.mp4": [0, 25, 50],
//	 "ds0/sub/other.mp4": {"times": [1.5, "00:01:12.000"]},
//	 "third.mp4": {"frames": [3]}}
//
// A key is a video's name, or its dataset path and name joined by "/" (the ID
// vpipe's logs show), which wins over the bare name; a bare name applies to
// every video of that name.
type FramesFile struct {
	Path    string
	Entries map[string]List
	mu      sync.Mutex
	used    map[string]bool
}

// ReadFramesFile reads and checks a frames file.
func ReadFramesFile(path string) (*FramesFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object {\"<video name>\": [frame, ...]}: %v", path, err)
	}
	if k := repeatedKey(b); k != "" {
		return nil, fmt.Errorf("%s: entry %q is given twice (merge its lists into one)", path, k)
	}
	f := &FramesFile{Path: path, Entries: map[string]List{}, used: map[string]bool{}}
	for name, v := range raw {
		key := fmt.Sprintf("frames_file %q entry %q", path, name)
		l := List{Key: key}
		var frames []int
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(v, &frames) == nil:
			l.Frames = frames
		case json.Unmarshal(v, &obj) == nil:
			if k := repeatedKey(v); k != "" {
				return nil, fmt.Errorf("%s: key %q is given twice", key, k)
			}
			for k, val := range obj {
				switch k {
				case "frames":
					if err := json.Unmarshal(val, &l.Frames); err != nil {
						return nil, fmt.Errorf("%s .frames: want a list of frame indices, got %s", key, val)
					}
				case "times":
					var ts []json.RawMessage
					if err := json.Unmarshal(val, &ts); err != nil {
						return nil, fmt.Errorf("%s .times: want a list of times, got %s", key, val)
					}
					for _, t := range ts {
						s := string(bytes.Trim(t, `"`))
						if _, err := ParseTime(s); err != nil {
							return nil, fmt.Errorf("%s .times: %v", key, err)
						}
						l.Times = append(l.Times, s)
					}
				default:
					return nil, fmt.Errorf("%s: unknown key %q (want frames or times)", key, k)
				}
			}
			if l.Frames != nil && l.Times != nil {
				return nil, fmt.Errorf("%s: give frames or times, not both", key)
			}
			if l.Times != nil {
				l.Key += " .times"
			}
		default:
			return nil, fmt.Errorf("%s: want a list of frame indices or {\"frames\": [...]} / {\"times\": [...]}, got %s", key, v)
		}
		for k, i := range l.Frames {
			if i < 0 {
				return nil, fmt.Errorf("%s[%d]: a frame index must be >= 0, got %d", key, k, i)
			}
		}
		f.Entries[name] = l
	}
	return f, nil
}

// For is the list of the video with this ID ("ds/…/name") and name; a video
// the file does not list gets an empty list: nothing is taken from it.
func (f *FramesFile) For(id, name string) *List {
	f.Match(id, name)
	for _, k := range []string{id, name} {
		if l, ok := f.Entries[k]; ok {
			return &l
		}
	}
	return &List{Missing: true, Key: fmt.Sprintf("frames_file %q (no entry for %q)", f.Path, id)}
}

// Match records that a video with this ID and name exists: both its keys
// matched, though only the ID's applies when both are given. A run marks
// every video of its source, the ones other shards sample too.
func (f *FramesFile) Match(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range []string{id, name} {
		if _, ok := f.Entries[k]; ok {
			f.used[k] = true
		}
	}
}

// Unused are the keys that matched no video so far (a misspelt name), sorted;
// a bare name that every video of its name overrode by its dataset path matched.
func (f *FramesFile) Unused() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.Entries {
		if !f.used[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// String names the file's entries (for logs).
func (f *FramesFile) String() string {
	names := make([]string, 0, len(f.Entries))
	for k := range f.Entries {
		names = append(names, k)
	}
	sort.Strings(names)
	return f.Path + " (" + strings.Join(names, ", ") + ")"
}

// repeatedKey is the first key a JSON object repeats ("" if none, or if b is
// not an object): encoding/json keeps only the last value of a repeated key.
func repeatedKey(b []byte) string {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		k, isKey := t.(string)
		if err != nil || !isKey {
			return ""
		}
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
