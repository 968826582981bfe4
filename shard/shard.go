// Package shard splits a source's videos into N disjoint shards by a stable
// hash of each video's identity (its dataset path and name), never by listing
// order: a video's shard is the same on every machine, in every run, whatever
// other videos are added to or removed from the source.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// Spec is shard I of N (0 <= I < N).
type Spec struct {
	I, N int
}

// Parse reads "I/N" (as --shard takes it); flag names the flag in errors.
func Parse(flag, s string) (Spec, error) {
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("%s %q: %s", flag, s, why)
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return bad("want I/N, e.g. 0/4 (shard I of N, counted from 0)")
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return bad("want I/N with whole numbers, e.g. 0/4")
	case n < 1:
		return bad("N must be at least 1")
	case i < 0 || i >= n:
		return bad(fmt.Sprintf("I must be from 0 to %d (shards are counted from 0)", n-1))
	}
	return Spec{I: i, N: n}, nil
}

// String is "I/N".
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Key is what a video's shard is computed from: its source dataset path and
// file name, NUL-separated (a NUL is in no name, so no two videos share a key).
func Key(dataset []string, name string) string {
	return strings.Join(append(append([]string{}, dataset...), name), "\x00")
}

// Of is the shard, of n, of the video with this key: FNV-1a (64 bit) of the
// key, modulo n.
func Of(key string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// Has tells whether the item is in this shard.
func (s Spec) Has(it *core.Item) bool {
	return Of(Key(it.Dataset, it.Name), s.N) == s.I
}
