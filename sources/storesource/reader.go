package storesource

import (
	"context"
	"fmt"

	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/rangeread"
)

// objectReader reads one object with the store's ranged reads (store/rangeread):
// a seekable media.Input, so FFmpeg reads it through vpipe's own I/O and an
// MP4/MOV is mapped from its sample table without fetching the payload
// (media.Scan), about one pass over the bytes instead of two. The SDK's
// retryer (the store's client: S3's SDK) handles errors before a body arrives; a body that is cut, or stalls
// for the client's timeout (S3's source.timeout_s, watched by s3conn: no timer of
// the reader's own), is resumed from the byte reached, up to maxResumes times in a
// row. FFmpeg reads some regions more than once (the probe, then the map,
// then the decode pass each read the head and the moov), so the bytes fetched
// are also kept in a small cache of aligned blocks (at most cacheBlocks ×
// rangeread.BlockSize a video) and served from there when read again.
type objectReader struct{ *rangeread.Reader }

const (
	cacheBlocks = 64
	minRange    = rangeread.BlockSize
	maxRange    = 8 << 20
	maxResumes  = 5
)

func newObjectReader(ctx context.Context, st store.Store, key string, size int64) *objectReader {
	open := rangeread.FromStore(st, key)
	policy := rangeread.Policy{
		Open: func(_ int, _ int64, err error) error { return err }, // the store's client has retried already
		Read: func(failures int, pos int64, err error) error {
			if failures > maxResumes {
				return fmt.Errorf("%s: the read failed %d times in a row at byte %d: %w", st.Name(key), failures, pos, err)
			}
			return nil
		},
	}
	return &objectReader{rangeread.New(ctx, open, rangeread.Options{Size: size,
		MinChunk: minRange, MaxChunk: maxRange, CacheBlocks: cacheBlocks, Policy: policy})}
}

// Close ends the reader's request, if one is open.
func (r *objectReader) Close() { r.Reader.Close() }
