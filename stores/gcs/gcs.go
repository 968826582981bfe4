// Package gcs is the store of a Google Cloud Storage bucket prefix
// (gs://BUCKET/PREFIX), through the JSON API of cloud.google.com/go/storage.
// Every object is one upload, which GCS makes visible whole or not at all.
// Shared small files are updated by compare-and-swap on the object's
// generation (ifGenerationMatch, or ifGenerationMatch=0 for a new object),
// read and changed again when another writer came first. There are no
// writer leases. Credentials come from Application Default Credentials;
// STORAGE_EMULATOR_HOST points the client at an emulator.
package gcs

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"

	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/iterator"

	"github.com/vpipe/vpipe/internal/stall"
	"github.com/vpipe/vpipe/store"
)

// MaxKeyLen is GCS's limit on an object name, in bytes.
const MaxKeyLen = 1024

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is a bucket prefix.
type Store struct {
	c      *storage.Client
	loc    Location
	bucket *storage.BucketHandle
	key    string
	// attempts bounds the attempts of each request (the client's retryer
	// bounds them for every call but an upload).
	attempts int
	// PageSize is the objects of each listing page (0 = the server's, 1000).
	PageSize int
	// BeforeUpdateWrite runs in Update between reading an object and its
	// conditional write (tests make a concurrent change there).
	BeforeUpdateWrite func()
}

// New builds the client for a location. Nothing is read or written yet.
func New(ctx context.Context, o Options) (*Store, error) {
	loc, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if msg := endpointProblem(o.Endpoint); msg != "" {
		return nil, fmt.Errorf("gcs endpoint: %s", msg)
	}
	attempts, timeout := o.MaxAttempts, o.Timeout
	if attempts <= 0 {
		attempts = 8
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c, err := newClient(ctx, o.Endpoint, attempts, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", loc, err)
	}
	key := o.Key
	if key == "" {
		key = "sink.url"
	}
	return &Store{c: c, loc: loc, bucket: c.Bucket(loc.Bucket), key: key, attempts: attempts}, nil
}

// Describe names the store.
func (s *Store) Describe() string { return "gcs " + s.loc.String() }

// Name is the URL of key.
func (s *Store) Name(key string) string { return s.loc.Object(s.loc.Key(key)) }

// Features: GCS's name limit (less the prefix); an upload cut off may have
// been applied, and whether it was is told by the object's MD5.
func (s *Store) Features() store.Features {
	return store.Features{Key: s.key, MaxKeyLen: MaxKeyLen - len(s.loc.Key("")), MaybeApplied: true, Holds: s.holds}
}

// Check lists one object under the prefix: the bucket exists and the
// credentials may read it. Nothing is written.
func (s *Store) Check(ctx context.Context) error {
	it := s.bucket.Objects(ctx, &storage.Query{Prefix: s.loc.Key(""), Projection: storage.ProjectionNoACL})
	it.PageInfo().MaxSize = 1
	if _, err := it.Next(); err != nil && err != iterator.Done {
		return s.err("list", s.loc.Key(""), err)
	}
	return nil
}

// Open has nothing to create; it checks the bucket as Check does.
func (s *Store) Open(ctx context.Context) error { return s.Check(ctx) }

// Close lets go of the client's connections.
func (s *Store) Close() error { return s.c.Close() }

// Get reads an object whole.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, _, found, err := s.read(ctx, s.loc.Key(key))
	return b, found, err
}

// read reads an object whole with its generation (0 when it is missing).
func (s *Store) read(ctx context.Context, name string) (data []byte, gen int64, found bool, err error) {
	r, err := s.bucket.Object(name).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, s.err("read", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, false, s.err("read", name, err)
	}
	return b, r.Attrs.Generation, true, nil
}

// NewRangeReader is one ranged read (the client resumes a body cut short).
func (s *Store) NewRangeReader(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	name := s.loc.Key(key)
	r, err := s.bucket.Object(name).NewRangeReader(ctx, off, n)
	if err != nil {
		return nil, s.err(fmt.Sprintf("read bytes %d+%d of", off, n), name, err)
	}
	return r, nil
}

// Put is one upload. The client sends the object in one request with its
// CRC32C, which GCS checks before it makes the object visible; an upload
// that fails, or is given up, leaves the old object or none.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	name := s.loc.Key(key)
	if err := s.write(ctx, s.bucket.Object(name), data); err != nil {
		return s.err("write", name, err)
	}
	return nil
}

// write uploads data to o in one request (o may carry preconditions). o is
// a handle of its own: Retryer changes its retry settings in place.
func (s *Store) write(ctx context.Context, o *storage.ObjectHandle, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a write that failed is aborted, never finished
	// The client bounds an upload's retries by time, not by attempts (for
	// one-request uploads not at all): count them here.
	failed := 0
	o = o.Retryer(storage.WithErrorFunc(func(err error) bool {
		failed++
		return failed < s.attempts && retryable(err)
	}))
	w := o.NewWriter(ctx)
	// A chunk larger than the object: one request, buffered so that it can
	// be sent again, and no 16 MiB buffer per writer.
	w.ChunkSize = len(data) + 1
	w.ContentType = contentType(o.ObjectName())
	w.CRC32C, w.SendCRC32C, w.DisableAutoChecksum = crc32.Checksum(data, castagnoli), true, true
	if _, err := w.Write(data); err != nil {
		cancel()
		w.Close()
		return err
	}
	return w.Close()
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".png"):
		return "image/png"
	case strings.HasSuffix(name, ".jpg"):
		return "image/jpeg"
	case strings.HasSuffix(name, ".webp"):
		return "image/webp"
	}
	return "application/octet-stream"
}

// Update reads the object and its generation, changes it and writes it on
// condition that the generation is still the one read (or, for a new
// object, that there is none); when another writer changed it in between,
// GCS refuses the write and Update reads and changes it again after a pause
// (store.CASRounds), for at most store.CASBudget. Unchanged bytes are not
// written.
func (s *Store) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	name := s.loc.Key(key)
	var rounds store.CASRounds
	for {
		old, gen, found, err := s.read(ctx, name)
		if err != nil {
			return err
		}
		b, err := fn(old, found)
		if err != nil || b == nil || (found && bytes.Equal(b, old)) {
			return err
		}
		if s.BeforeUpdateWrite != nil {
			s.BeforeUpdateWrite()
		}
		cond := storage.Conditions{DoesNotExist: true}
		if found {
			cond = storage.Conditions{GenerationMatch: gen}
		}
		err = s.write(ctx, s.bucket.Object(name).If(cond), b)
		if err == nil {
			return nil
		}
		if !isPreconditionFailed(err) {
			return s.err("write", name, err)
		}
		if again, werr := rounds.Lost(ctx); !again {
			return store.CASGaveUp(s.loc.Object(name), "conditional write", &rounds, werr, err)
		}
	}
}

// List reads every page of the objects under prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(string, int64) error) error {
	q := &storage.Query{Prefix: s.loc.Key(prefix), Projection: storage.ProjectionNoACL}
	if err := q.SetAttrSelection([]string{"Name", "Size"}); err != nil {
		return err
	}
	it := s.bucket.Objects(ctx, q)
	it.PageInfo().MaxSize = s.PageSize
	for {
		o, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return s.err("list", q.Prefix, err)
		}
		base := o.Name[strings.LastIndex(o.Name, "/")+1:]
		if strings.HasPrefix(base, store.TmpPrefix) || strings.HasPrefix(base, store.LockPrefix) {
			continue
		}
		if err := fn(s.loc.Rel(o.Name), o.Size); err != nil {
			return err
		}
	}
}

// holds tells whether key holds exactly data (one metadata read: the
// object's size and MD5).
func (s *Store) holds(ctx context.Context, key string, data []byte) bool {
	a, err := s.bucket.Object(s.loc.Key(key)).Attrs(ctx)
	if err != nil || a.Size != int64(len(data)) {
		return false
	}
	if len(a.MD5) > 0 {
		sum := md5.Sum(data)
		return bytes.Equal(a.MD5, sum[:])
	}
	return a.CRC32C == crc32.Checksum(data, castagnoli)
}

// deleteWorkers bounds the deletes in flight (GCS deletes one object a call).
const deleteWorkers = 16

// Delete removes objects, several calls at a time; missing ones are fine.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(deleteWorkers)
	for _, k := range keys {
		name := s.loc.Key(k)
		g.Go(func() error {
			err := s.bucket.Object(name).Delete(ctx)
			if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
				return s.err("delete", name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// err names the call and the object, and says what to do about the
// failures a user can mend.
func (s *Store) err(call, name string, err error) error {
	counters.Error()
	obj := s.loc.Object(name)
	var se *stall.Error
	switch code := httpCode(err); {
	case errors.As(err, &se):
		return fmt.Errorf("%s %s: no answer from GCS: nothing sent or received for %s on the last attempt (timeout_s; max_attempts bounds the attempts): %w", call, obj, se.For, err)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%s %s: access refused (HTTP %d): check Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, "+
			"`gcloud auth application-default login`, the machine's service account) and their roles on bucket %s: %w", call, obj, code, s.loc.Bucket, err)
	case errors.Is(err, storage.ErrBucketNotExist) || (code == http.StatusNotFound && call == "list"):
		return fmt.Errorf("%s %s: bucket %s does not exist: %w", call, obj, s.loc.Bucket, err)
	}
	return fmt.Errorf("%s %s: %w", call, obj, err)
}
