// Package s3 is the store of an S3 bucket prefix (the client setup is
// internal/s3conn). Every object is one PUT, so no reader sees part of one.
// Shared small files are updated by conditional PUT (If-Match the ETag read,
// or If-None-Match: * for a new object), read and changed again when another
// writer came first. There are no writer leases.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/store"
)

// Store is a bucket prefix.
type Store struct {
	C *s3conn.Client
	// Key is the config key that names the URL, for messages ("" = sink.url).
	Key string
	// BeforeUpdatePut runs in Update between reading an object and its
	// conditional PUT (tests make a concurrent change there).
	BeforeUpdatePut func()
}

// New wraps a client bound to a location. Nothing is read or written yet.
func New(c *s3conn.Client) *Store { return &Store{C: c} }

// Describe names the store.
func (s *Store) Describe() string { return "s3 " + s.C.Describe() }

// Name is the URL of key.
func (s *Store) Name(key string) string { return s.C.Loc.Object(s.C.Loc.Key(key)) }

// Features: S3's key limit (less the prefix); a PUT cut off may have been
// applied, and whether it was is told by its ETag.
func (s *Store) Features() store.Features {
	key := s.Key
	if key == "" {
		key = "sink.url"
	}
	return store.Features{Key: key, MaxKeyLen: s3conn.MaxKeyLen - len(s.C.Loc.Key("")), MaybeApplied: true, Holds: s.holds}
}

// Check has nothing to check before a read.
func (s *Store) Check(context.Context) error { return nil }

// Open has nothing to create.
func (s *Store) Open(context.Context) error { return nil }

// Close has nothing to let go of.
func (s *Store) Close() error { return nil }

// Get reads an object whole (a body cut short is read again).
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, _, found, err := s.C.Get(ctx, s.C.Loc.Key(key))
	return b, found, err
}

// NewRangeReader is one ranged GetObject.
func (s *Store) NewRangeReader(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	r := fmt.Sprintf("bytes=%d-", off)
	if n >= 0 {
		if n == 0 {
			return io.NopCloser(strings.NewReader("")), nil
		}
		r = fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	}
	k := s.C.Loc.Key(key)
	out, err := s.C.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.C.Loc.Bucket), Key: aws.String(k), Range: aws.String(r)})
	if err != nil {
		return nil, s.C.Err("GetObject", k, err)
	}
	return out.Body, nil
}

// Put is one PutObject; the SDK retries it (the body is seekable) and returns
// after the server has the whole object, so data is not kept.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	k := s.C.Loc.Key(key)
	if _, err := s.C.PutObject(ctx, s.putInput(k, data)); err != nil {
		return s.C.Err("PutObject", k, err)
	}
	return nil
}

func (s *Store) putInput(key string, data []byte) *s3.PutObjectInput {
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(key, ".json"):
		ct = "application/json"
	case strings.HasSuffix(key, ".png"):
		ct = "image/png"
	case strings.HasSuffix(key, ".jpg"):
		ct = "image/jpeg"
	case strings.HasSuffix(key, ".webp"):
		ct = "image/webp"
	}
	return &s3.PutObjectInput{Bucket: aws.String(s.C.Loc.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(ct)}
}

// Update reads the object, changes it and writes it with a conditional PUT;
// when another writer changed it in between, the PUT is refused and Update
// reads and changes it again after a pause (store.CASRounds), for at most
// store.CASBudget. Unchanged bytes are not written.
func (s *Store) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	k := s.C.Loc.Key(key)
	var rounds store.CASRounds
	for {
		old, etag, found, err := s.C.Get(ctx, k)
		if err != nil {
			return err
		}
		b, err := fn(old, found)
		if err != nil || b == nil || (found && bytes.Equal(b, old)) {
			return err
		}
		if s.BeforeUpdatePut != nil {
			s.BeforeUpdatePut()
		}
		in := s.putInput(k, b)
		if found {
			in.IfMatch = aws.String(etag)
		} else {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = s.C.PutObject(ctx, in)
		if err == nil {
			return nil
		}
		if !s3conn.IsPreconditionFailed(err) {
			return s.C.Err("PutObject", k, err)
		}
		if again, werr := rounds.Lost(ctx); !again {
			return store.CASGaveUp(s.C.Loc.Object(k), "conditional PUT", &rounds, werr, err)
		}
	}
}

// List reads every page of ListObjectsV2 under prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(string, int64) error) error {
	return s.C.List(ctx, s.C.Loc.Key(prefix), "", func(key string, size int64) error {
		return fn(s.C.Loc.Rel(key), size)
	})
}

// holds tells whether key holds exactly data (a single PUT's ETag is its MD5).
func (s *Store) holds(ctx context.Context, key string, data []byte) bool {
	h, err := s.C.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.C.Loc.Bucket), Key: aws.String(s.C.Loc.Key(key))})
	if err != nil || h.ETag == nil || h.ContentLength == nil || *h.ContentLength != int64(len(data)) {
		return false
	}
	sum := md5.Sum(data)
	return strings.Trim(*h.ETag, `"`) == hex.EncodeToString(sum[:])
}

// Delete removes objects, 1000 a DeleteObjects call; missing ones are fine.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(s.C.Loc.Key(k))}
		}
		out, err := s.C.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.C.Loc.Bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		if err != nil {
			return s.C.Err("DeleteObjects", s.C.Loc.Key(keys[0]), err)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) != "NoSuchKey" {
				return fmt.Errorf("DeleteObjects %s: %s: %s", s.C.Loc.Object(aws.ToString(e.Key)), aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
		keys = keys[n:]
	}
	return nil
}
