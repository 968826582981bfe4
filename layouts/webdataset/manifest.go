package webdataset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// manifest is <split>/.vpipe/manifest.json: the split's shards as the last
// assembly left them, the samples rolled back since (Deleted), and the lease
// of an assembly in progress. It is small (a line per shard) and only ever
// changed by the store's Update, a compare-and-swap (or a locked
// read-modify-write), so concurrent writers never lose each other's changes.
// At rest (no lease) it depends only on the shards, so a resumed, sharded or
// queued run leaves the same bytes as one plain run: it keeps no count of
// assemblies (a reader's cached view is keyed by index.parquet's hash).
type manifest struct {
	// ShardSize and ShardBytes are the options the shards were cut with.
	ShardSize  int         `json:"shard_size"`
	ShardBytes int64       `json:"shard_bytes"`
	Shards     []shardInfo `json:"shards"`
	// Index is index.parquet as the last assembly wrote it (nil: none).
	Index *objectInfo `json:"index,omitempty"`
	// Deleted are samples rolled back (Delete) after an assembly may have
	// taken them into a shard: the next assembly leaves them out of the shards.
	Deleted []pos `json:"deleted,omitempty"`
	// Dirty: an assembly failed after it had written shards; the next one
	// reads every shard again rather than trust Shards.
	Dirty bool `json:"dirty,omitempty"`
	// Lease is held by the writer assembling the split (nil: none).
	Lease *lease `json:"lease,omitempty"`
}

type objectInfo struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// shardInfo is one shard: its samples from First to Last, in order.
type shardInfo struct {
	Name    string `json:"name"`
	Samples int    `json:"samples"`
	objectInfo
	First pos `json:"first"`
	Last  pos `json:"last"`
}

// lease says who assembles the split. The holder renews it (Beat) while it
// works; another writer takes it over only after seeing it unchanged for
// leaseTTL by its own clock, so the clocks of two machines never need to agree.
type lease struct {
	Owner string `json:"owner"`
	Beat  int64  `json:"beat"`
}

func parseManifest(b []byte, exists bool, name string) (*manifest, error) {
	m := &manifest{}
	if !exists {
		return m, nil
	}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

func (m *manifest) bytes() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

func (m *manifest) deleted(key string) bool {
	for _, d := range m.Deleted {
		if d.Key == key {
			return true
		}
	}
	return false
}

// readManifest reads a split's manifest (empty when there is none).
func (s *Sink) readManifest(ctx context.Context, split string) (*manifest, error) {
	key := split + "/" + manifestKey
	b, found, err := s.st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return parseManifest(b, found, s.st.Name(key))
}

// updateManifest changes a split's manifest with fn (fn returning false
// leaves it as it is); fn may be called again when another writer changed it
// meanwhile.
func (s *Sink) updateManifest(ctx context.Context, split string, fn func(m *manifest) (bool, error)) error {
	key := split + "/" + manifestKey
	return s.st.Update(ctx, key, func(old []byte, exists bool) ([]byte, error) {
		m, err := parseManifest(old, exists, s.st.Name(key))
		if err != nil {
			return nil, err
		}
		if changed, err := fn(m); err != nil || !changed {
			return nil, err
		}
		return m.bytes()
	})
}

var (
	errBusy = errors.New("another writer is assembling the split")
	errLost = errors.New("the split's assembly lease was taken over by another writer")
)

// Timings of the lease (variables: tests shorten them).
var (
	leaseTTL   = 30 * time.Second
	leasePoll  = 500 * time.Millisecond
	leaseRenew = 5 * time.Second
)

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// acquire takes the split's lease, waiting while a live writer holds it. It
// returns the manifest as it was taken, and whether the lease was taken over
// from a writer that stopped renewing it: that writer died mid-assembly, so
// the shards may be half relaid and the next assembly reads them all again.
func (s *Sink) acquire(ctx context.Context, split, owner string) (m *manifest, tookOver bool, err error) {
	var seen lease
	var seenAt time.Time
	for {
		err := s.updateManifest(ctx, split, func(cur *manifest) (bool, error) {
			tookOver = false
			if l := cur.Lease; l != nil && l.Owner != owner {
				if seenAt.IsZero() || *l != seen {
					seen, seenAt = *l, time.Now()
					return false, errBusy
				}
				if time.Since(seenAt) < leaseTTL {
					return false, errBusy
				}
				tookOver = true
			}
			cur.Lease = &lease{Owner: owner}
			m = cur
			return true, nil
		})
		if !errors.Is(err, errBusy) {
			return m, tookOver, err
		}
		select {
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		case <-time.After(leasePoll):
		}
	}
}

// renew keeps the lease alive until ctx ends, every leaseRenew; when it is
// lost (taken over), lost is called.
func (s *Sink) renew(ctx context.Context, split, owner string, lost func(error)) {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.updateManifest(ctx, split, func(m *manifest) (bool, error) {
			if m.Lease == nil || m.Lease.Owner != owner {
				return false, errLost
			}
			m.Lease.Beat++
			return true, nil
		})
		if err != nil && ctx.Err() == nil {
			lost(fmt.Errorf("%s: renewing the lease: %w", s.st.Name(split+"/"+manifestKey), err))
			return
		}
	}
}

// release gives the lease back (if it is still this writer's).
func (s *Sink) release(ctx context.Context, split, owner string) error {
	return s.updateManifest(ctx, split, func(m *manifest) (bool, error) {
		if m.Lease == nil || m.Lease.Owner != owner {
			return false, nil
		}
		m.Lease = nil
		return true, nil
	})
}
