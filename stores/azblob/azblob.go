// Package azblob is the store of an Azure Blob Storage container prefix
// (azblob://CONTAINER/PREFIX). Every object is one Put Blob (or, past
// 256 MiB, staged blocks and one Put Block List), so no reader sees part of
// one and a failed upload leaves nothing. Shared small files are updated by
// conditional Put Blob (If-Match the ETag read, or If-None-Match: * for a new
// blob), read and changed again when another writer came first. Credentials
// come from the environment, never from the configuration: see newClient.
package azblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"golang.org/x/sync/errgroup"

	"github.com/vpipe/vpipe/store"
)

// MaxKeyLen is Azure's limit on a blob name (1024 characters; counted here
// in bytes, which is never less).
const MaxKeyLen = 1024

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 30 * time.Second

// Store is a container prefix.
type Store struct {
	c        *container.Client
	loc      Location
	server   string // the service URL, for messages (no credentials)
	endpoint string // as configured ("" = from the credential chain)
	entra    bool   // the credential is Entra ID's (DefaultAzureCredential)
	attempts int
	key      string // the config key of the URL, for messages
	// PageSize is the most blobs of one listing page (0 = the service's, 5000).
	PageSize int32
	// BeforeUpdatePut runs in Update between reading a blob and its
	// conditional upload (tests make a concurrent change there).
	BeforeUpdatePut func()
}

// New builds the client from the credential chain. Nothing is read or
// written yet.
func New(o Options) (*Store, error) {
	loc, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if err := CheckEndpoint(o.Endpoint); err != nil {
		return nil, fmt.Errorf("%s: endpoint: %w", loc, err)
	}
	attempts, timeout := o.MaxAttempts, o.Timeout
	if attempts <= 0 {
		attempts = 8
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c, server, entra, err := newClient(loc, o.Endpoint, clientOptions(attempts, timeout))
	if err != nil {
		return nil, err
	}
	key := o.Key
	if key == "" {
		key = "sink.url"
	}
	return &Store{c: c, loc: loc, server: server, endpoint: o.Endpoint, entra: entra, attempts: attempts, key: key}, nil
}

// Describe names the store (and the endpoint, when one is set).
func (s *Store) Describe() string {
	if s.endpoint != "" {
		return "azblob " + s.loc.String() + " at " + s.server
	}
	return "azblob " + s.loc.String()
}

// Name is the URL of key.
func (s *Store) Name(key string) string { return s.loc.Object(s.loc.Blob(key)) }

// Features: Azure's name limit (less the prefix); an upload cut off may have
// been applied, and whether it was is told by the blob's Content-MD5.
func (s *Store) Features() store.Features {
	return store.Features{Key: s.key, MaxKeyLen: MaxKeyLen - len(s.loc.Blob("")), MaybeApplied: true, Holds: s.holds}
}

// Check lists one blob under the prefix: the container exists and the
// credentials may list it (a container SAS may, where it may not read the
// container's properties).
func (s *Store) Check(ctx context.Context) error {
	full := s.loc.Blob("")
	_, err := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &full, MaxResults: to.Ptr(int32(1))}).NextPage(ctx)
	if err != nil {
		return s.Err("ListBlobs", full, err)
	}
	return nil
}

// Open creates nothing (a prefix needs no folder); the container must be there.
func (s *Store) Open(ctx context.Context) error { return s.Check(ctx) }

// Close has nothing to let go of.
func (s *Store) Close() error { return nil }

// Get reads a blob whole; a body cut short is read on from where it stopped,
// of the same version (If-Match its ETag).
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, _, found, err := s.get(ctx, s.loc.Blob(key))
	return b, found, err
}

func (s *Store) get(ctx context.Context, name string) (data []byte, etag azcore.ETag, found bool, err error) {
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, s.Err("GetBlob", name, err)
	}
	body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: int32(max(1, s.attempts-1))})
	defer body.Close()
	if data, err = io.ReadAll(body); err != nil {
		return nil, "", false, s.Err("GetBlob (reading the body)", name, err)
	}
	if resp.ETag != nil {
		etag = *resp.ETag
	}
	return data, etag, true, nil
}

// NewRangeReader is one ranged Get Blob; the caller (store/rangeread) resumes
// a body that is cut or stalls.
func (s *Store) NewRangeReader(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	name := s.loc.Blob(key)
	r := blob.HTTPRange{Offset: off}
	if n > 0 {
		r.Count = n
	}
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: r})
	if err != nil {
		return nil, s.Err("GetBlob", name, err)
	}
	return resp.Body, nil
}

// headers are the blob's content type (by extension) and MD5, which Holds
// compares.
func headers(name string, data []byte) *blob.HTTPHeaders {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	sum := md5.Sum(data)
	return &blob.HTTPHeaders{BlobContentType: to.Ptr(ct), BlobContentMD5: sum[:]}
}

// Put is one upload; the SDK retries it (the body is rewound) and returns
// once the service has committed the whole blob.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	name := s.loc.Blob(key)
	_, err := s.c.NewBlockBlobClient(name).UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{HTTPHeaders: headers(name, data)})
	if err != nil {
		return s.Err("PutBlob", name, err)
	}
	return nil
}

// Update reads the blob, changes it and writes it with a conditional Put Blob;
// when another writer changed it in between, the service refuses it (412, or
// 409 for a blob that now exists) and Update reads and changes it again
// after a pause (store.CASRounds), for at most store.CASBudget. Unchanged
// bytes are not written.
func (s *Store) Update(ctx context.Context, key string, fn func([]byte, bool) ([]byte, error)) error {
	name := s.loc.Blob(key)
	var rounds store.CASRounds
	for {
		old, etag, found, err := s.get(ctx, name)
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
		cond := &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}
		if found {
			cond = &blob.ModifiedAccessConditions{IfMatch: &etag}
		}
		_, err = s.c.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(b)), &blockblob.UploadOptions{
			HTTPHeaders: headers(name, b), AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond}})
		if err == nil {
			return nil
		}
		if !bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists) {
			return s.Err("PutBlob", name, err)
		}
		if again, werr := rounds.Lost(ctx); !again {
			return store.CASGaveUp(s.loc.Object(name), "conditional Put Blob", &rounds, werr, err)
		}
	}
}

// List reads every page of List Blobs under prefix, leaving out the names of
// a store's own files (store.TmpPrefix, store.LockPrefix).
func (s *Store) List(ctx context.Context, prefix string, fn func(string, int64) error) error {
	full := s.loc.Blob(prefix)
	o := &container.ListBlobsFlatOptions{Prefix: &full}
	if s.PageSize > 0 {
		o.MaxResults = &s.PageSize
	}
	p := s.c.NewListBlobsFlatPager(o)
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.Err("ListBlobs", full, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			base := path.Base(*b.Name)
			if strings.HasPrefix(base, store.TmpPrefix) || strings.HasPrefix(base, store.LockPrefix) {
				continue
			}
			var size int64
			if b.Properties != nil && b.Properties.ContentLength != nil {
				size = *b.Properties.ContentLength
			}
			if err := fn(s.loc.Rel(*b.Name), size); err != nil {
				return err
			}
		}
	}
	return nil
}

// holds tells whether key holds exactly data (by length and Content-MD5).
func (s *Store) holds(ctx context.Context, key string, data []byte) bool {
	p, err := s.c.NewBlobClient(s.loc.Blob(key)).GetProperties(ctx, nil)
	if err != nil || p.ContentLength == nil || *p.ContentLength != int64(len(data)) {
		return false
	}
	sum := md5.Sum(data)
	return bytes.Equal(p.ContentMD5, sum[:])
}

// deleteWorkers bounds the Delete Blob calls in flight (a video's roll-back
// is hundreds of blobs, one call each).
const deleteWorkers = 16

// Delete removes blobs (with their snapshots), one call each, deleteWorkers
// at once; missing ones are fine. (Blob Batch would take 256 a call; single
// calls keep one error path, the same for every kind of credential.)
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(deleteWorkers)
	for _, k := range keys {
		name := s.loc.Blob(k)
		g.Go(func() error {
			_, err := s.c.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
			if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
				return s.Err("DeleteBlob", name, err)
			}
			return nil
		})
	}
	return g.Wait()
}
