package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vpipe/vpipe/layouts/project"
	"github.com/vpipe/vpipe/stages"
	"github.com/vpipe/vpipe/store"
)

// stored is what the dataset holds, read once before the run: its meta.json,
// the images of each dataset (by dataset key, "ds0/datasets/clip.mp4"), and
// each dataset's custom data (recorded output settings, vpipe_missing).
type stored struct {
	meta    []byte
	images  map[string]map[string]bool
	custom  map[string]map[string]any
	missing map[string]frameRanges // frames a salvage left out, by dataset key
}

// readStored lists the dataset. A store without meta.json is not a dataset
// vpipe wrote (or not its root).
func readStored(ctx context.Context, st store.Store) (*stored, error) {
	meta, found, err := st.Get(ctx, "meta.json")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: not found: not the root of a dataset vpipe wrote", st.Name("meta.json"))
	}
	s := &stored{meta: meta, images: map[string]map[string]bool{}, custom: map[string]map[string]any{}, missing: map[string]frameRanges{}}
	var customs []string
	err = st.List(ctx, "", func(key string, _ int64) error {
		if ds, name, ok := imageKey(key); ok {
			if s.images[ds] == nil {
				s.images[ds] = map[string]bool{}
			}
			s.images[ds][name] = true
		} else if ds, ok := strings.CutSuffix(key, "/"+project.CustomDataFile); ok && isDatasetKey(ds) {
			customs = append(customs, ds)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", st.Describe(), err)
	}
	for _, ds := range customs {
		if err := s.readCustom(ctx, st, ds); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readCustom reads a dataset's custom data and the frames it lists as missing.
func (s *stored) readCustom(ctx context.Context, st store.Store, ds string) error {
	key := ds + "/" + project.CustomDataFile
	b, _, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", st.Name(key), err)
	}
	s.custom[ds] = c
	if m, ok := c[stages.MissingKey].(map[string]any); ok {
		frames, _ := m["frames"].(string)
		r, err := parseRanges(frames)
		if err != nil {
			return fmt.Errorf("%s: %s.frames: %w", st.Name(key), stages.MissingKey, err)
		}
		s.missing[ds] = r
	}
	return nil
}

// imageKey splits "<dataset key>/img/<name>" into the dataset key and the
// image name; ok is false for any other key.
func imageKey(key string) (ds, name string, ok bool) {
	i := strings.LastIndex(key, "/img/")
	if i < 0 {
		return "", "", false
	}
	ds, name = key[:i], key[i+len("/img/"):]
	if name == "" || strings.Contains(name, "/") || !isDatasetKey(ds) {
		return "", "", false
	}
	return ds, name, true
}

// isDatasetKey tells whether key is a dataset's folder in the project layout:
// name, then "datasets/name" for each nested level.
func isDatasetKey(key string) bool {
	parts := strings.Split(key, "/")
	if len(parts)%2 == 0 {
		return false
	}
	var path []string
	for i, p := range parts {
		if i%2 == 1 {
			if p != "datasets" {
				return false
			}
			continue
		}
		path = append(path, p)
	}
	k, err := project.DatasetKey(path)
	return err == nil && k == key
}

func (s *stored) count() int {
	n := 0
	for _, names := range s.images {
		n += len(names)
	}
	return n
}

// keys are every image's key, sorted.
func (s *stored) keys() []string {
	var out []string
	for ds, names := range s.images {
		for n := range names {
			out = append(out, ds+"/img/"+n)
		}
	}
	sort.Strings(out)
	return out
}

// all is every image's key, as a set.
func (s *stored) all() map[string]bool {
	out := map[string]bool{}
	for _, k := range s.keys() {
		out[k] = true
	}
	return out
}

// frameRanges are inclusive ranges of frame indices.
type frameRanges [][2]int

func (r frameRanges) has(i int) bool {
	for _, x := range r {
		if x[0] <= i && i <= x[1] {
			return true
		}
	}
	return false
}

// parseRanges reads "3,5-9,12" (stages' ranges).
func parseRanges(s string) (frameRanges, error) {
	var out frameRanges
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q: not a frame index or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q: not a frame index or range", part)
			}
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
