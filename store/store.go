// Package store defines a Store: where bytes live, under slash-separated keys
// (a folder on disk, a bucket prefix). A layout (layouts/project) says how a
// dataset is laid out in one; it is written once against this interface and
// runs on every store. The model is gocloud.dev's blob.Bucket and rclone's
// fs.Fs: a small required interface, and optional features declared as data
// (Features) rather than discovered by type assertions.
package store

import (
	"context"
	"io"

	"github.com/vpipe/vpipe/core"
)

// Store holds objects under keys relative to its root ("a/b/c.json").
type Store interface {
	// Describe names the store for logs ("local /out", "s3 s3://b/p").
	Describe() string
	// Name is how a message names one key: a path, or s3://bucket/key.
	Name(key string) string
	// Features are what this store can do beyond the interface.
	Features() Features
	// Check tells, writing nothing, whether the root is usable.
	Check(ctx context.Context) error
	// Open makes the root ready for writes (a folder is created).
	Open(ctx context.Context) error
	// Get reads a whole object; found is false (and err nil) when it is missing.
	Get(ctx context.Context, key string) (data []byte, found bool, err error)
	// NewRangeReader reads n bytes of an object from off (n < 0: to its end).
	NewRangeReader(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Put stores an object atomically: readers see all of it or none (the
	// old object, or nothing).
	Put(ctx context.Context, key string, data []byte) error
	// List calls fn with every key under prefix (every page) and its size in
	// bytes, in no set order; a store's own temporaries and lock files are
	// never listed.
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
	// Delete removes objects; a missing one is no error.
	Delete(ctx context.Context, keys ...string) error
	// Update is a read-modify-write of a small shared object (meta.json, custom
	// data) that concurrent writers merge: fn gets the current bytes and
	// returns the new ones (nil: leave it). No writer's update is lost: the
	// store locks the object, or compares and swaps and calls fn again.
	Update(ctx context.Context, key string, fn func(old []byte, exists bool) ([]byte, error)) error
	// Close lets go of what the store holds.
	Close() error
}

// Features are a store's optional abilities and limits (rclone's fs.Features).
// A nil function is an ability the store does not have.
type Features struct {
	// Key is the configuration key that names the store's location, for
	// messages ("sink.path", "sink.url").
	Key string
	// MaxKeyLen is the longest key the store takes under its root, in bytes
	// (0: no limit).
	MaxKeyLen int
	// MaybeApplied says that a Put that returned an error may still have been
	// stored (a request cut off after the server took it).
	MaybeApplied bool
	// Admit makes w a writer of the store until Release, refusing it when a
	// live writer excludes it (writer locks, leases). Where a store has it,
	// every writer is admitted before it writes: the local store's clean-up
	// of temporaries keeps only those of admitted writers.
	Admit func(w core.Writer) error
	// Release ends what Admit began.
	Release func()
	// Holds tells whether key holds exactly data (a Put whose answer was lost).
	Holds func(ctx context.Context, key string, data []byte) bool
}

// Names starting with these are a store's own files (temporaries of writes in
// flight, writer lock files): no layout gives them to an object.
const (
	TmpPrefix  = ".vpipe-tmp-"
	LockPrefix = ".vpipe-lock-"
)
