package webdataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// Put stages one sample: a single object, so a failed Put leaves nothing
// (a write that may have been applied though it failed is taken back).
func (s *Sink) Put(ctx context.Context, img *core.Image) error {
	split, err := s.split(img.Dataset)
	if err != nil {
		return err
	}
	key, ext, err := SampleKey(img.Dataset, img.Name)
	if err != nil {
		return err
	}
	s.touch(split)
	obj := stagingObject(split, key, ext, frameOf(img.Meta), s.stampNow())
	if max := s.st.Features().MaxKeyLen; max > 0 && len(obj) > max {
		return fmt.Errorf("image %q: its staged object's key would be longer than the %d bytes %s takes under its root", img.Name, max, s.st.Describe())
	}
	data, err := encodeSample(key, ext, img)
	if err != nil {
		return err
	}
	if err := s.st.Put(ctx, obj, data); err != nil {
		if s.st.Features().MaybeApplied {
			if derr := s.st.Delete(context.WithoutCancel(ctx), obj); derr != nil {
				return fmt.Errorf("%w (and removing what it may have stored failed: %v)", err, derr)
			}
		}
		return err
	}
	return nil
}

// listStaged calls fn with every staged sample under prefix (a split's
// staging folder, or one dataset's in it).
func (s *Sink) listStaged(ctx context.Context, split, prefix string, fn func(staged) error) error {
	return s.st.List(ctx, prefix, func(key string, size int64) error {
		if st, ok := parseStaged(split, key, size); ok {
			return fn(st)
		}
		return nil
	})
}

// stagedIn lists the staged samples of one destination dataset (its direct
// images, not those of datasets below it).
func (s *Sink) stagedIn(ctx context.Context, split, dir string) ([]staged, error) {
	var out []staged
	err := s.listStaged(ctx, split, split+"/"+stagingDir+dir+"/", func(st staged) error {
		if rest, ok := strings.CutPrefix(st.Key, dir+"/"); ok && !strings.Contains(rest, "/") {
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// nameOf is the image name of a sample key and extension.
func nameOf(key, ext string) string {
	_, stem, _ := ParseKey(key)
	return stem + "." + ext
}

// Existing lists the images of a dataset that are staged or in a shard (a
// shard whose bytes are not those the manifest recorded, lost or cut, holds
// only its samples that are still whole), less those rolled back.
func (s *Sink) Existing(ctx context.Context, dataset []string) (map[string]bool, error) {
	split, err := s.split(dataset)
	if err != nil {
		return nil, err
	}
	dir, err := DatasetKey(dataset)
	if err != nil {
		return nil, err
	}
	// Staged first, shards after: a sample an assembly moves meanwhile from
	// staging into a shard is seen in one or the other.
	st, err := s.stagedIn(ctx, split, dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, x := range st {
		out[nameOf(x.Key, x.Ext)] = true
	}
	v, m, err := s.view(ctx, split)
	if err != nil {
		return nil, err
	}
	if len(st) > 0 || m.Lease != nil || m.Dirty || len(m.Deleted) > 0 || (len(m.Shards) > 0 && !s.sameCut(m)) {
		s.touch(split) // left by a run that stopped, or cut otherwise: this sink's Close assembles it
	}
	for name, p := range v.names[dir] {
		if !m.deleted(p.Key) {
			out[name] = true
		}
	}
	return out, nil
}

// Delete rolls back images of a dataset: their staged objects are removed,
// and those an assembly may have taken into a shard are recorded in the
// manifest as deleted, for the next assembly (this sink's Close) to leave
// out; a dataset left empty loses its custom data.
func (s *Sink) Delete(ctx context.Context, dataset []string, names []string) error {
	split, err := s.split(dataset)
	if err != nil {
		return err
	}
	dir, err := DatasetKey(dataset)
	if err != nil {
		return err
	}
	s.touch(split)
	keys := map[string]bool{}
	for _, n := range names {
		k, _, err := SampleKey(dataset, n)
		if err != nil {
			return err
		}
		keys[k] = true
	}
	st, err := s.stagedIn(ctx, split, dir)
	if err != nil {
		return err
	}
	var objs []string
	was := map[string]pos{}
	for _, x := range st {
		if keys[x.Key] {
			objs = append(objs, x.Object)
			was[x.Key] = x.pos()
		}
	}
	if err := s.st.Delete(ctx, objs...); err != nil {
		return err
	}
	if err := s.tombstone(ctx, split, dir, keys, was); err != nil {
		return err
	}
	// A dataset left without samples keeps no custom data (it would bind
	// the output settings of images that are gone), as in the project layout.
	left, err := s.Existing(ctx, dataset)
	if err != nil || len(left) > 0 {
		return err
	}
	key, _ := datasetData(dataset)
	return s.st.Delete(ctx, key)
}

// tombstone records as deleted the keys that are in a shard, and those that
// were staged if an assembly is running (it may have read them before they
// were removed; one that starts later will not see them).
func (s *Sink) tombstone(ctx context.Context, split, dir string, keys map[string]bool, staged map[string]pos) error {
	v, m, err := s.view(ctx, split)
	if err != nil {
		return err
	}
	var add []pos
	for _, p := range v.names[dir] {
		if keys[p.Key] && !m.deleted(p.Key) {
			add = append(add, p)
			delete(staged, p.Key)
		}
	}
	if m.Lease != nil {
		for _, p := range staged {
			add = append(add, p)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return s.updateManifest(ctx, split, func(m *manifest) (bool, error) {
		changed := false
		for _, p := range add {
			if !m.deleted(p.Key) {
				m.Deleted = append(m.Deleted, p)
				changed = true
			}
		}
		return changed, nil
	})
}

// shardedView is what a split's shards hold, as of one index.parquet: the
// image names per dataset key, with their place.
type shardedView struct {
	index string // index.parquet's sha256 the view was read from ("": none, or not found as the manifest says)
	names map[string]map[string]pos
}

// view reads the split's manifest and returns the samples in its shards
// (read from index.parquet once per version of it) with the manifest.
func (s *Sink) view(ctx context.Context, split string) (*shardedView, *manifest, error) {
	m, err := s.readManifest(ctx, split)
	if err != nil {
		return nil, nil, err
	}
	sha := ""
	if m.Index != nil {
		sha = m.Index.SHA256
	}
	s.mu.Lock()
	v := s.views[split]
	s.mu.Unlock()
	if v != nil && v.index == sha {
		return v, m, nil
	}
	if v, err = s.readView(ctx, split, m); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.views[split] = v
	s.mu.Unlock()
	return v, m, nil
}

func (s *Sink) readView(ctx context.Context, split string, m *manifest) (*shardedView, error) {
	v := &shardedView{names: map[string]map[string]pos{}}
	if m.Index == nil || len(m.Shards) == 0 {
		return v, nil
	}
	b, found, err := s.st.Get(ctx, split+"/"+indexName)
	if err != nil {
		return nil, err
	}
	if !found || hashOf(b) != m.Index.SHA256 {
		// An assembly stopped between the index and the manifest: its samples
		// count as missing (a re-run puts them again), and the next assembly
		// reads every shard again. The view keeps no index hash, so the next
		// look reads the index again rather than trust this one.
		return v, nil
	}
	v.index = m.Index.SHA256
	whole, err := s.wholeSamples(ctx, split, m)
	if err != nil {
		return nil, err
	}
	err = readRows(b, func(r row) error {
		if keep, checked := whole[r.Shard]; checked && !keep[r.Key] {
			return nil
		}
		dir := r.Key[:strings.LastIndexByte(r.Key, '/')]
		if v.names[dir] == nil {
			v.names[dir] = map[string]pos{}
		}
		v.names[dir][r.Name] = pos{Key: r.Key, Frame: frameOrNone(r.FrameIndex)}
		return nil
	})
	return v, err
}

func frameOrNone(p *int64) int64 {
	if p == nil || *p < 0 {
		return -1
	}
	return *p
}

// wholeSamples finds the shards whose object is not the one the manifest
// recorded (missing, or of another size: cut, edited) and, for each, the
// samples still whole in it.
func (s *Sink) wholeSamples(ctx context.Context, split string, m *manifest) (map[string]map[string]bool, error) {
	sizes, err := s.shardSizes(ctx, split)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	for _, sh := range m.Shards {
		size, ok := sizes[sh.Name]
		if ok && size == sh.Bytes {
			continue
		}
		keys := map[string]bool{}
		out[sh.Name] = keys
		if !ok {
			continue
		}
		err := s.readShard(ctx, split, sh.Name, func(d *sampleData) error {
			keys[d.Key] = true
			return nil
		})
		if err != nil && !errors.Is(err, errTruncated) {
			return nil, err
		}
	}
	return out, nil
}

// shardSizes lists the shard objects of a split with their sizes.
func (s *Sink) shardSizes(ctx context.Context, split string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.st.List(ctx, split+"/"+shardPrefix, func(key string, size int64) error {
		name := strings.TrimPrefix(key, split+"/")
		if _, ok := shardNumber(name); ok {
			out[name] = size
		}
		return nil
	})
	return out, err
}

// readShard calls fn with every whole sample of a shard, streaming it.
func (s *Sink) readShard(ctx context.Context, split, name string, fn func(*sampleData) error) error {
	r, err := s.st.NewRangeReader(ctx, split+"/"+name, 0, -1)
	if err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(split+"/"+name), err)
	}
	defer r.Close()
	if err := readSamples(r, fn); err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(split+"/"+name), err)
	}
	return nil
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}
