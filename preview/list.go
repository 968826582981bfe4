package preview

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/store"
)

// entry is one image found in the store: the objects of one frame.
type entry struct {
	Dataset []string // dataset path, outermost first
	DirKey  string   // the dataset's folder key ("ds0/datasets/clip.mp4")
	Name    string   // file name in img/
	Size    int64    // the image's bytes, which name its thumbnail
	HasAnn  bool
	HasMeta bool
}

func (e *entry) imgKey() string  { return e.DirKey + "/img/" + e.Name }
func (e *entry) annKey() string  { return e.DirKey + "/ann/" + e.Name + ".json" }
func (e *entry) metaKey() string { return e.DirKey + "/meta/" + e.Name + ".json" }

// splitKey reads a key of the image project layout (reference §8.3):
// <ds>[/datasets/<ds>]*/<img|ann|meta>/<file>. ok is false for every other
// key (meta.json, custom_data.json, a folder that is no dataset's).
func splitKey(key string) (dataset []string, dirKey, kind, file string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 3 {
		return nil, "", "", "", false
	}
	dataset = []string{parts[0]}
	i := 1
	for i+2 < len(parts) && parts[i] == "datasets" {
		dataset = append(dataset, parts[i+1])
		i += 2
	}
	if i+2 != len(parts) || parts[i+1] == "" {
		return nil, "", "", "", false
	}
	switch kind = parts[i]; kind {
	case "img", "ann", "meta":
		return dataset, strings.Join(parts[:i], "/"), kind, parts[i+1], true
	}
	return nil, "", "", "", false
}

// list finds every image of the project in one listing of the store, with
// whether its annotation and meta are there, ordered by dataset folder, then
// by name with the numbers in names compared as numbers: vpipe names an image
// after its frame index ("clip.mp4_frame_007.png"), so a video's images come
// in frame order, and the grid can be written in its order as it is read.
func list(ctx context.Context, st store.Store) ([]*entry, error) {
	byKey := map[string]*entry{}
	get := func(ds []string, dir, name string) *entry {
		k := dir + "\x00" + name
		e := byKey[k]
		if e == nil {
			e = &entry{Dataset: ds, DirKey: dir, Name: name, Size: -1}
			byKey[k] = e
		}
		return e
	}
	err := st.List(ctx, "", func(key string, size int64) error {
		ds, dir, kind, file, ok := splitKey(key)
		if !ok {
			return nil
		}
		switch kind {
		case "img":
			get(ds, dir, file).Size = size
		case "ann":
			if n, ok := strings.CutSuffix(file, ".json"); ok {
				get(ds, dir, n).HasAnn = true
			}
		case "meta":
			if n, ok := strings.CutSuffix(file, ".json"); ok {
				get(ds, dir, n).HasMeta = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []*entry
	for _, e := range byKey {
		if e.Size >= 0 { // an annotation without its image is no image
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int {
		if c := strings.Compare(a.DirKey, b.DirKey); c != 0 {
			return c
		}
		return naturalCompare(a.Name, b.Name)
	})
	return out, nil
}

// naturalCompare orders strings with their runs of digits compared as
// numbers ("f_9" before "f_10"), else byte by byte.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return 0
}

// digits is the length of s's leading run of ASCII digits.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
