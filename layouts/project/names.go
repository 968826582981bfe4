package project

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/store"
)

// CustomDataFile holds a project's or dataset's custom data (provenance).
const CustomDataFile = "custom_data.json"

// EmptyMeta is a new project's meta.json (an empty ProjectMeta, §8.3).
const EmptyMeta = `{
    "classes": [],
    "tags": [],
    "projectSettings": {
        "multiView": {
            "enabled": false,
            "tagName": null,
            "tagId": null,
            "isSynced": false
        }
    }
}
`

// Reserved are the names a top-level dataset may not take: the folder names of
// a dataset's items (§8.3), which Supervisely's reader never takes for a dataset,
// and the files vpipe writes in the project folder. (Nested datasets live under
// <parent>/datasets/, where no name collides.)
var Reserved = []string{"img", "ann", "img_info", "seg", "meta", "datasets", "blob", "meta.json", CustomDataFile, SplitsFile}

// SplitsFile keeps the split of each video (sink.split) in the project
// folder: a file, which Supervisely's readers pass over (they take every
// folder for a dataset).
const SplitsFile = "vpipe_splits.json"

// DatasetKey is the key (folder) of a dataset path under the project's root,
// / separated; names are checked so that no name can lead outside the root.
func DatasetKey(dataset []string) (string, error) {
	if len(dataset) == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	var parts []string
	for i, name := range dataset {
		if err := CheckName(name); err != nil {
			return "", fmt.Errorf("dataset %q: %w", strings.Join(dataset[:i+1], "/"), err)
		}
		if i == 0 && slices.Contains(Reserved, name) {
			return "", fmt.Errorf("dataset %q: the name is reserved in a Supervisely image project (%s); rename the source dataset or folder",
				name, strings.Join(Reserved, ", "))
		}
		if i > 0 {
			parts = append(parts, "datasets")
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, "/"), nil
}

// CheckName refuses an image or dataset name that is not a plain name.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("not a usable name")
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("a name may not contain / \\ or NUL")
	case strings.HasPrefix(name, store.TmpPrefix):
		return fmt.Errorf("names starting with %s are vpipe's temporary files", store.TmpPrefix)
	case strings.HasPrefix(name, store.LockPrefix):
		return fmt.Errorf("names starting with %s are vpipe's lock files", store.LockPrefix)
	}
	return nil
}

// SameOutput compares a dataset's recorded output settings (custom data's
// core.OutputKey) with a run's; nil on either side binds nothing. Other
// layouts refuse a run that would mix images of two kinds with it.
func SameOutput(have, want any) error { return sameOutput(have, want) }

// sameOutput compares a dataset's recorded output settings with a run's.
func sameOutput(have, want any) error {
	if have == nil || want == nil {
		return nil
	}
	have, want = core.OutputWithDefaults(have), core.OutputWithDefaults(want)
	a, _ := json.Marshal(have)
	b, _ := json.Marshal(want)
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	if string(xa) != string(ya) {
		return fmt.Errorf("its images were made with %s, this run makes %s", xa, ya)
	}
	return nil
}

// MarshalJSON writes JSON as the Python SDK does for local files (indent 4),
// without escaping <, > and &.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Written says a key is a video's output, an image of a dataset (…/img/…):
// the layout's Spec.Written.
func Written(key string) bool { return strings.Contains("/"+key, "/img/") }
