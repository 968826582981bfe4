package s3

import (
	"context"
	"fmt"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/store/rangeread"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

// objectReader reads one object with the S3 store's ranged GetObject calls
// (stores/s3, store/rangeread):
// a seekable media.Input, so FFmpeg reads it through vpipe's own I/O and an
// MP4/MOV is mapped from its sample table without fetching the payload
// (media.Scan), about one pass over the bytes instead of two. The SDK's
// retryer handles errors before a body arrives; a body that is cut, or stalls
// for the client's timeout (source.timeout_s, watched by s3conn: no timer of
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

func newObjectReader(ctx context.Context, c *s3conn.Client, key string, size int64) *objectReader {
	// The store's keys are relative to its prefix; key is the object's full key.
	open := rangeread.FromStore(s3store.New(c), c.Loc.Rel(key))
	policy := rangeread.Policy{
		Open: func(_ int, _ int64, err error) error { return err }, // the SDK has retried already
		Read: func(failures int, pos int64, err error) error {
			if failures > maxResumes {
				return fmt.Errorf("%s: the read failed %d times in a row at byte %d: %v", c.Loc.Object(key), failures, pos, err)
			}
			return nil
		},
	}
	return &objectReader{rangeread.New(ctx, open, rangeread.Options{Size: size,
		MinChunk: minRange, MaxChunk: maxRange, CacheBlocks: cacheBlocks, Policy: policy})}
}

// Close ends the reader's request, if one is open.
func (r *objectReader) Close() { r.Reader.Close() }
