package storesink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/split"
	"github.com/vpipe/vpipe/store"
)

// splitter decides and remembers the split of each video of one sink.
//
// The decision is kept in the store (key): the videos already there keep
// their split, the others are placed by split.Plan.Assign, which depends only
// on what was kept and on the set of videos. Every process of a run lists
// the whole source before it writes, so shards and queue workers that plan
// at once compute the same answer from the same file; the store's Update
// (a lock, or compare-and-swap) makes the first writer's answer the file and
// the others find it already holds theirs. A video is never moved: adding
// videos only adds entries.
type splitter struct {
	st     store.Store
	key    string
	splits split.Plan
	// written says a key is a video's output (Spec.Written; nil: not known).
	written func(key string) bool

	mu       sync.RWMutex
	assigned map[string]string // split.Key → split
}

func newSplitter(st store.Store, key string, plan split.Plan, written func(string) bool) *splitter {
	return &splitter{st: st, key: key, splits: plan, written: written, assigned: map[string]string{}}
}

// errFound stops a listing at its first video output.
var errFound = errors.New("found")

// fresh refuses to start splitting an output whose videos were written
// without sink.split (it has their output but no splits file): splitting
// now would write them again in a second split.
func (s *splitter) fresh(ctx context.Context) error {
	if s.written == nil {
		return nil
	}
	var first string
	err := s.st.List(ctx, "", func(key string, _ int64) error {
		if s.written(key) {
			first = key
			return errFound
		}
		return nil
	})
	switch {
	case errors.Is(err, errFound):
		return fmt.Errorf("%s holds videos written without sink.split (%s, and no %s): splitting them now would put "+
			"them in two splits; remove sink.split, or write the split dataset to a new output",
			s.st.Describe(), first, s.key)
	case err != nil:
		return err
	}
	return nil
}

// split is the layout's Split: "" for a video not planned (the layout refuses it).
func (s *splitter) split(dataset []string, video string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.assigned[split.Key(dataset, video)]
}

// entry is one video of the splits file.
type entry struct {
	Dataset []string `json:"dataset"`
	Video   string   `json:"video"`
	Split   string   `json:"split"`
}

// plan is the sink's Plan: it assigns items their splits, keeps them in the
// store unless dry, and returns them by Item.ID.
func (s *splitter) plan(ctx context.Context, items []*core.Item, dry bool) (map[string]string, error) {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = split.Key(it.Dataset, it.Name)
	}
	decide := s.keep
	if dry {
		decide = s.read
	}
	got, err := decide(ctx, keys)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for k, v := range got {
		s.assigned[k] = v
	}
	s.mu.Unlock()
	out := make(map[string]string, len(items))
	for i, it := range items {
		out[it.ID()] = got[keys[i]]
	}
	return out, nil
}

// read assigns keys from the kept file, writing nothing.
func (s *splitter) read(ctx context.Context, keys []string) (map[string]string, error) {
	b, found, err := s.st.Get(ctx, s.key)
	if err != nil {
		return nil, err
	}
	if !found {
		if err := s.fresh(ctx); err != nil {
			return nil, err
		}
	}
	kept, err := s.parse(b, found)
	if err != nil {
		return nil, err
	}
	return s.assign(kept, keys)
}

// keep assigns keys and adds the new ones to the kept file, in one Update.
func (s *splitter) keep(ctx context.Context, keys []string) (got map[string]string, err error) {
	err = s.st.Update(ctx, s.key, func(old []byte, exists bool) ([]byte, error) {
		if !exists {
			if err := s.fresh(ctx); err != nil {
				return nil, err
			}
		}
		kept, err := s.parse(old, exists)
		if err != nil {
			return nil, err
		}
		if got, err = s.assign(kept, keys); err != nil {
			return nil, err
		}
		b, err := marshal(kept, got)
		if err != nil || (exists && bytes.Equal(b, old)) {
			return nil, err
		}
		return b, nil
	})
	return got, err
}

func (s *splitter) assign(kept map[string]string, keys []string) (map[string]string, error) {
	got, err := s.splits.Assign(kept, keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.st.Name(s.key), err)
	}
	return got, nil
}

// parse reads the splits file (split.Key → split).
func (s *splitter) parse(b []byte, found bool) (map[string]string, error) {
	kept := map[string]string{}
	if !found {
		return kept, nil
	}
	var es []entry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("%s: %w", s.st.Name(s.key), err)
	}
	for _, e := range es {
		kept[split.Key(e.Dataset, e.Video)] = e.Split
	}
	return kept, nil
}

// marshal writes kept and got as the splits file: one video a line, sorted,
// so the bytes depend only on the assignment.
func marshal(kept, got map[string]string) ([]byte, error) {
	all := make(map[string]string, len(kept)+len(got))
	for k, v := range kept {
		all[k] = v
	}
	for k, v := range got {
		all[k] = v
	}
	ks := make([]string, 0, len(all))
	for k := range all {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, k := range ks {
		parts := strings.Split(k, "\x00")
		ds := parts[:len(parts)-1]
		if ds == nil {
			ds = []string{}
		}
		line, err := json.Marshal(entry{Dataset: ds, Video: parts[len(parts)-1], Split: all[k]})
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(ks)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes(), nil
}
