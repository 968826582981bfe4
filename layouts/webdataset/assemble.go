package webdataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
)

// endBlocks end every shard: the two zero blocks of a tar archive.
const endBlocks = 1024

// Assemble brings a split's shards up to date with what is staged and what
// was rolled back, under the split's lease (waiting while another writer
// assembles it). Close calls it for the splits the sink touched; a finisher
// that put nothing may call it to publish what others staged (on a store
// that admits writers, after Begin, like any write).
func (s *Sink) Assemble(ctx context.Context, split string) error {
	if err := checkSplit(split); err != nil {
		return err
	}
	if settled, err := s.settled(ctx, split); err != nil || settled {
		return err
	}
	owner := newOwner()
	m, tookOver, err := s.acquire(ctx, split, owner)
	if err != nil {
		return err
	}
	actx, lost := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() { defer close(renewed); s.renew(actx, split, owner, lost) }()
	a := &assembly{s: s, split: split, owner: owner, m: m, full: tookOver || m.Dirty}
	err = a.run(actx)
	if cause := context.Cause(actx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	lost(nil)
	<-renewed
	if rerr := s.releaseAfter(context.WithoutCancel(ctx), split, owner, err != nil && a.wrote); err == nil {
		err = rerr
	}
	return err
}

// releaseAfter gives the lease back; after an assembly that failed once it
// had written shards, the manifest is marked dirty so the next assembly reads
// every shard again rather than trust it.
func (s *Sink) releaseAfter(ctx context.Context, split, owner string, dirty bool) error {
	if !dirty {
		return s.release(ctx, split, owner)
	}
	return s.updateManifest(ctx, split, func(m *manifest) (bool, error) {
		if m.Lease == nil || m.Lease.Owner != owner {
			return false, nil
		}
		m.Lease, m.Dirty = nil, true
		return true, nil
	})
}

// settled tells, writing nothing and without the lease, whether a split has
// nothing to assemble: nothing staged or rolled back, no assembly running or
// failed, and the shards and index are the objects the manifest recorded.
// A re-run that put nothing so ends without a write.
func (s *Sink) settled(ctx context.Context, split string) (bool, error) {
	m, err := s.readManifest(ctx, split)
	if err != nil {
		return false, err
	}
	if m.Lease != nil || m.Dirty || len(m.Deleted) > 0 || (len(m.Shards) > 0 && !s.sameCut(m)) {
		return false, nil
	}
	staged := false
	err = s.st.List(ctx, split+"/"+stagingDir, func(string, int64) error {
		staged = true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, err
	}
	if staged {
		return false, nil
	}
	sizes, err := s.shardSizes(ctx, split)
	if err != nil {
		return false, err
	}
	if !s.consistent(m, sizes) {
		return false, nil
	}
	idx, err := s.size(ctx, split+"/"+indexName)
	if err != nil {
		return false, err
	}
	if m.Index == nil {
		return idx < 0, nil
	}
	return idx == m.Index.Bytes, nil
}

var errStop = errors.New("stop")

// size is an object's size (-1: missing).
func (s *Sink) size(ctx context.Context, key string) (int64, error) {
	n := int64(-1)
	err := s.st.List(ctx, key, func(k string, size int64) error {
		if k == key {
			n = size
		}
		return nil
	})
	return n, err
}

func (s *Sink) sameCut(m *manifest) bool {
	return m.ShardSize == s.opt.ShardSize && m.ShardBytes == s.opt.ShardBytes
}

// consistent tells whether the shard objects are exactly the manifest's.
func (s *Sink) consistent(m *manifest, sizes map[string]int64) bool {
	if len(sizes) != len(m.Shards) {
		return false
	}
	for _, sh := range m.Shards {
		if n, ok := sizes[sh.Name]; !ok || n != sh.Bytes {
			return false
		}
	}
	return true
}

// assembly is one run of Assemble under the lease.
type assembly struct {
	s     *Sink
	split string
	owner string
	m     *manifest // as the lease was taken
	// full: the shards are not known to be the manifest's (an assembly died
	// or failed mid-way, a shard was lost or edited): every shard is read
	// again and the split relaid from its first shard.
	full  bool
	wrote bool // a shard or the index was written or removed

	live    map[string]*item // per key, the sample to shard
	cleanup []string         // staged objects to remove once committed
	index   []byte           // index.parquet as the manifest recorded it
}

// item is a sample to shard: a staged object, or a sample taken out of a
// shard kept in memory.
type item struct {
	staged
	mem []byte
	pl  place
}

func (a *assembly) run(ctx context.Context) error {
	s := a.s
	sizes, err := s.shardSizes(ctx, a.split)
	if err != nil {
		return err
	}
	if !a.full {
		a.full = !s.consistent(a.m, sizes) || !a.readIndex(ctx)
	}
	if err := a.listStaged(ctx); err != nil {
		return err
	}
	k, old := a.plan(sizes)
	if !a.full && k == len(a.m.Shards) && len(a.live) == 0 && len(a.m.Deleted) == 0 && s.sameCut(a.m) {
		return nil // nothing staged or rolled back since a writer waited for the lease
	}
	oldInfo, err := a.unshard(ctx, old, k)
	if err != nil {
		return err
	}
	iw := newIndexWriter()
	if err := a.keepRows(iw, k); err != nil {
		return err
	}
	shards, err := a.relay(ctx, k, iw, oldInfo, sizes)
	if err != nil {
		return err
	}
	info, err := a.writeIndex(ctx, iw)
	if err != nil {
		return err
	}
	return a.commit(ctx, shards, info, k)
}

// readIndex reads index.parquet when the manifest records one; false if it
// is not the recorded one (an assembly stopped before its commit).
func (a *assembly) readIndex(ctx context.Context) bool {
	if a.m.Index == nil {
		return true
	}
	b, found, err := a.s.st.Get(ctx, a.split+"/"+indexName)
	if err != nil || !found || hashOf(b) != a.m.Index.SHA256 {
		return false
	}
	a.index = b
	return true
}

// listStaged lists the staged samples: the newest version of each key.
func (a *assembly) listStaged(ctx context.Context) error {
	a.live = map[string]*item{}
	return a.s.listStaged(ctx, a.split, a.split+"/"+stagingDir, func(st staged) error {
		a.cleanup = append(a.cleanup, st.Object)
		if cur := a.live[st.Key]; cur == nil || st.Stamp > cur.Stamp {
			a.live[st.Key] = &item{staged: st}
		}
		return nil
	})
}

// plan finds the first shard to relay (k) and the shard objects to take
// the samples out of (those from k on; every one when full).
func (a *assembly) plan(sizes map[string]int64) (int, []string) {
	if a.full {
		var old []string
		for name := range sizes {
			old = append(old, name)
		}
		sort.Strings(old) // shard-NNNNNN.tar sort by number
		return 0, old
	}
	k := a.firstChanged()
	if k > 0 && a.index != nil {
		// A sample staged again may sort elsewhere than its copy in a shard
		// (its meta changed): the shard of that copy changes too.
		readRows(a.index, func(r row) error {
			if n, ok := shardNumber(r.Shard); ok && n < k && a.live[r.Key] != nil {
				k = n
			}
			return nil
		})
	}
	var old []string
	for _, sh := range a.m.Shards[k:] {
		old = append(old, sh.Name)
	}
	return k, old
}

// firstChanged is the first shard whose content may change: the one where
// the first staged or deleted sample falls, or the one before it when that
// one could take more samples (a shard is cut where the next sample no
// longer fits, so a sample put between two shards may join the first).
// Shards before it hold the same samples as a relay from scratch would put
// there, so they are kept as they are.
func (a *assembly) firstChanged() int {
	shards := a.m.Shards
	if len(shards) == 0 || !a.s.sameCut(a.m) {
		return 0
	}
	var c *place
	see := func(p pos) {
		if pl := placeOf(p); c == nil || cmpPlace(pl, *c) < 0 {
			c = &pl
		}
	}
	for _, it := range a.live {
		see(it.pos())
	}
	for _, p := range a.m.Deleted {
		see(p)
	}
	if c == nil {
		return len(shards)
	}
	i := sort.Search(len(shards), func(i int) bool { return cmpPlace(placeOf(shards[i].First), *c) >= 0 }) - 1
	switch {
	case i < 0:
		return 0
	case cmpPlace(placeOf(shards[i].Last), *c) >= 0:
		return i
	case a.s.opt.ShardSize > 0 && shards[i].Samples >= a.s.opt.ShardSize:
		return i + 1
	}
	return i
}

// unshard takes the samples out of the shards to relay: kept in memory when
// there is one (the open shard of a resumed run: at most a shard's bytes),
// else staged again (stamp 0) before any of those shards is overwritten, so
// that no sample is ever only in a shard being replaced. A sample staged
// anew, or rolled back, is not taken. It returns what each shard object
// held (size, sha256).
func (a *assembly) unshard(ctx context.Context, old []string, k int) (map[string]objectInfo, error) {
	info := map[string]objectInfo{}
	deleted := map[string]bool{}
	for _, p := range a.m.Deleted {
		deleted[p.Key] = true
	}
	for key, it := range a.live {
		if it.Stamp == 0 && deleted[key] { // a copy an earlier assembly took out, since rolled back
			delete(a.live, key)
		}
	}
	for _, name := range old {
		h := &hashingReader{h: sha256.New()}
		err := a.s.readShardWith(ctx, a.split, name, h, func(d *sampleData) error {
			if deleted[d.Key] || a.live[d.Key] != nil {
				return nil
			}
			return a.takeOut(ctx, d, len(old) == 1)
		})
		if err != nil && !(a.full && errors.Is(err, errTruncated)) {
			return nil, err
		}
		info[name] = objectInfo{Bytes: h.n, SHA256: hex.EncodeToString(h.h.Sum(nil))}
	}
	if !a.full {
		for _, sh := range a.m.Shards[k:] {
			info[sh.Name] = sh.objectInfo
		}
	}
	return info, nil
}

// takeOut makes a sample read from a shard an item to relay.
func (a *assembly) takeOut(ctx context.Context, d *sampleData, inMemory bool) error {
	b, err := d.bytes()
	if err != nil {
		return err
	}
	r, err := rowOf(d)
	if err != nil {
		return err
	}
	frame := frameOrNone(r.FrameIndex)
	st := staged{Key: d.Key, Ext: d.Ext, Frame: frame, Size: int64(len(b))}
	if inMemory {
		a.live[d.Key] = &item{staged: st, mem: b}
		return nil
	}
	st.Object = stagingObject(a.split, d.Key, d.Ext, frame, 0)
	if err := a.s.st.Put(ctx, st.Object, b); err != nil {
		return err
	}
	a.cleanup = append(a.cleanup, st.Object)
	a.live[d.Key] = &item{staged: st}
	return nil
}

// readShardWith is readShard reading through h, to the object's end.
func (s *Sink) readShardWith(ctx context.Context, split, name string, h *hashingReader, fn func(*sampleData) error) error {
	r, err := s.st.NewRangeReader(ctx, split+"/"+name, 0, -1)
	if err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(split+"/"+name), err)
	}
	defer r.Close()
	h.r = r
	err = readSamples(h, fn)
	if _, cerr := io.Copy(io.Discard, h); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.st.Name(split+"/"+name), err)
	}
	return nil
}

// keepRows copies the index rows of the shards kept (before k).
func (a *assembly) keepRows(iw *indexWriter, k int) error {
	if k == 0 || a.index == nil {
		return nil
	}
	return readRows(a.index, func(r row) error {
		if n, ok := shardNumber(r.Shard); ok && n < k {
			return iw.write(r)
		}
		return nil
	})
}

// relay cuts the samples, in order, into shards from k on and stores those
// whose bytes changed; shard objects past the last are removed.
func (a *assembly) relay(ctx context.Context, k int, iw *indexWriter, old map[string]objectInfo, sizes map[string]int64) ([]shardInfo, error) {
	order := make([]*item, 0, len(a.live))
	for _, it := range a.live {
		it.pl = placeOf(it.pos())
		order = append(order, it)
	}
	slices.SortFunc(order, func(x, y *item) int { return cmpPlace(x.pl, y.pl) })
	var out []shardInfo
	for _, group := range a.s.cut(order) {
		sh, err := a.shard(ctx, ShardName(k+len(out)), group, iw, old, sizes)
		if err != nil {
			return nil, err
		}
		if sh != nil {
			out = append(out, *sh)
		}
	}
	var gone []string
	for name := range sizes {
		if n, _ := shardNumber(name); n >= k+len(out) {
			gone = append(gone, a.split+"/"+name)
		}
	}
	if len(gone) > 0 {
		a.wrote = true
		if err := a.s.st.Delete(ctx, gone...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cut groups samples into shards: a shard takes samples while it has fewer
// than ShardSize and the next one fits in ShardBytes (end blocks included).
func (s *Sink) cut(order []*item) [][]*item {
	var out [][]*item
	var cur []*item
	var n int64
	for _, it := range order {
		if len(cur) > 0 && ((s.opt.ShardSize > 0 && len(cur) >= s.opt.ShardSize) || n+it.Size+endBlocks > s.opt.ShardBytes) {
			out, cur, n = append(out, cur), nil, 0
		}
		cur, n = append(cur, it), n+it.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// shard makes one shard in memory and stores it unless the object there
// already holds these bytes; nil when none of its samples is left (all
// rolled back meanwhile).
func (a *assembly) shard(ctx context.Context, name string, group []*item, iw *indexWriter, old map[string]objectInfo, sizes map[string]int64) (*shardInfo, error) {
	var buf bytes.Buffer
	sh := &shardInfo{Name: name}
	for _, it := range group {
		b, err := a.bytesOf(ctx, it)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue // rolled back since it was listed
		}
		var r row
		n := 0
		err = readSamples(bytes.NewReader(b), func(d *sampleData) (err error) {
			n++
			r, err = rowOf(d)
			return err
		})
		if err != nil || n != 1 {
			return nil, fmt.Errorf("%s: not one whole sample (%d): %v", a.s.st.Name(it.Object), n, err)
		}
		r.Shard, r.Offset, r.Size = name, int64(buf.Len()), int64(len(b))
		if err := iw.write(r); err != nil {
			return nil, err
		}
		buf.Write(b)
		if sh.Samples == 0 {
			sh.First = it.pos()
		}
		sh.Last = it.pos()
		sh.Samples++
	}
	if sh.Samples == 0 {
		return nil, nil
	}
	buf.Write(make([]byte, endBlocks))
	sh.objectInfo = objectInfo{Bytes: int64(buf.Len()), SHA256: hashOf(buf.Bytes())}
	if o, ok := old[name]; ok && o == sh.objectInfo && sizes[name] == o.Bytes {
		return sh, nil // unchanged: not written again
	}
	a.wrote = true
	if err := a.s.st.Put(ctx, a.split+"/"+name, buf.Bytes()); err != nil {
		return nil, err
	}
	return sh, nil
}

// bytesOf reads an item's members; nil when its staged object is gone.
func (a *assembly) bytesOf(ctx context.Context, it *item) ([]byte, error) {
	if it.mem != nil {
		return it.mem, nil
	}
	b, found, err := a.s.st.Get(ctx, it.Object)
	if err != nil || !found {
		return nil, err
	}
	return b, nil
}

// writeIndex stores index.parquet unless it holds these bytes already
// (removes it when the split has no sample left).
func (a *assembly) writeIndex(ctx context.Context, iw *indexWriter) (*objectInfo, error) {
	key := a.split + "/" + indexName
	if iw.rows == 0 {
		a.wrote = true
		return nil, a.s.st.Delete(ctx, key)
	}
	b, err := iw.close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.s.st.Name(key), err)
	}
	info := &objectInfo{Bytes: int64(len(b)), SHA256: hashOf(b)}
	if a.index != nil && a.m.Index != nil && *a.m.Index == *info {
		return info, nil
	}
	a.wrote = true
	return info, a.s.st.Put(ctx, key, b)
}

// commit records the new shards in the manifest (if the lease is still
// this assembly's), clears the rolled-back samples it left out, then removes
// the staged objects it took.
func (a *assembly) commit(ctx context.Context, shards []shardInfo, index *objectInfo, k int) error {
	read := map[string]bool{}
	for _, p := range a.m.Deleted {
		read[p.Key] = true
	}
	err := a.s.updateManifest(ctx, a.split, func(m *manifest) (bool, error) {
		if m.Lease == nil || m.Lease.Owner != a.owner {
			return false, errLost
		}
		if !a.full {
			shards = append(slices.Clone(a.m.Shards[:k]), shards...)
		}
		m.ShardSize, m.ShardBytes = a.s.opt.ShardSize, a.s.opt.ShardBytes
		m.Shards, m.Index, m.Dirty = shards, index, false
		m.Deleted = slices.DeleteFunc(m.Deleted, func(p pos) bool { return read[p.Key] })
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", a.s.st.Name(a.split+"/"+manifestKey), err)
	}
	return a.s.st.Delete(ctx, a.cleanup...)
}
