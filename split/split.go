// Package split assigns whole videos to dataset splits (train, val, …), so the
// frames of one clip never land in two splits.
//
// Two promises pull against each other: the splits should hold the fractions
// asked for (within one video), and a video's split must never change — not
// on a re-run, not in another shard or worker, not when videos are added. A
// hash of each video alone keeps the second but misses the first by a few
// videos in a hundred (a binomial spread); an assignment by rank keeps the
// first but moves old videos when new ones sort between them. So the
// assignment is kept: videos already assigned keep their split, and the
// videos not yet assigned are placed one by one, in the order of a stable
// hash of their identity (never the listing order), each into the split that
// is furthest below its share. Given the same kept assignment and the same
// set of videos, every process computes the same result, which is what lets
// shards and workers merge it with a compare-and-swap and agree.
package split

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"
)

// Split is one named split and its share of the videos.
type Split struct {
	Name     string
	Fraction float64
}

// Plan is the splits a sink writes, in name order.
type Plan []Split

// Default is every video in train.
var Default = Plan{{Name: "train", Fraction: 1}}

// New checks a split map from the config (name → fraction): names are
// non-empty path-safe words, fractions in (0, 1] summing to 1 (±1e-6). An
// empty map is Default. Problems come back as messages about the key.
func New(m map[string]float64) (Plan, error) {
	if len(m) == 0 {
		return Default, nil
	}
	var p Plan
	sum := 0.0
	for name, f := range m {
		switch {
		case name == "" || strings.ContainsAny(name, "/\\.\x00") || strings.TrimSpace(name) != name:
			return nil, fmt.Errorf("split name %q: want a plain word (no /, \\, dots or spaces at the ends)", name)
		case !(f > 0 && f <= 1):
			return nil, fmt.Errorf("split %s: fraction must be > 0 and <= 1, got %v", name, f)
		}
		p = append(p, Split{Name: name, Fraction: f})
		sum += f
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("the fractions sum to %v, want 1", sum)
	}
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
	return p, nil
}

// Names are the split names, in order.
func (p Plan) Names() []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = s.Name
	}
	return out
}

// Key is a video's identity: its source dataset path and name, NUL-separated.
func Key(dataset []string, name string) string {
	return strings.Join(append(append([]string{}, dataset...), name), "\x00")
}

// order is the stable hash that orders videos not yet assigned. It is salted,
// so it is independent of the shard hash (shard.Of): otherwise with 2 shards
// and a 50/50 split one shard would hold one split.
func order(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("vpipe split\x00"))
	h.Write([]byte(key))
	return h.Sum64()
}

// Assign returns the split of every video in keys: kept's split for those it
// has (a kept split that the plan no longer names is an error: the user
// changed the splits of a dataset already written), the others placed in
// hash order into the split furthest below its share of all the videos
// assigned so far. kept is not changed; the result holds kept's entries for
// keys too, and nothing for keys not given.
func (p Plan) Assign(kept map[string]string, keys []string) (map[string]string, error) {
	count := make(map[string]int, len(p))
	for k, s := range kept {
		if !slices.ContainsFunc(p, func(x Split) bool { return x.Name == s }) {
			return nil, fmt.Errorf("video %s is already in split %q, which the splits asked for (%s) do not name: a dataset's splits cannot change",
				strings.ReplaceAll(k, "\x00", "/"), s, strings.Join(p.Names(), ", "))
		}
		count[s]++
	}
	total := len(kept)
	out := make(map[string]string, len(keys))
	var fresh []string
	for _, k := range keys {
		if s, ok := kept[k]; ok {
			out[k] = s
		} else if _, dup := out[k]; !dup {
			out[k] = ""
			fresh = append(fresh, k)
		}
	}
	sort.Slice(fresh, func(i, j int) bool {
		a, b := order(fresh[i]), order(fresh[j])
		if a != b {
			return a < b
		}
		return fresh[i] < fresh[j]
	})
	for _, k := range fresh {
		total++
		best, bestDeficit := 0, math.Inf(-1)
		for i, s := range p {
			if d := s.Fraction*float64(total) - float64(count[s.Name]); d > bestDeficit+1e-9 {
				best, bestDeficit = i, d
			}
		}
		out[k] = p[best].Name
		count[p[best].Name]++
	}
	return out, nil
}
