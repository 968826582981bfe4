package s3

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/store/rangeread"
)

// objectReader reads one object with ranged GetObject calls (store/rangeread):
// a seekable media.Input, so FFmpeg reads it through vpipe's own I/O and an
// MP4/MOV is mapped from its sample table without fetching the payload
// (media.Scan), about one pass over the bytes instead of two. The SDK's
// retryer handles errors before a body arrives; a body that is cut or stalls
// for Timeout is resumed from the byte reached, up to maxResumes times in a
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
	open := func(ctx context.Context, start, end int64) (io.ReadCloser, int64, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Loc.Bucket), Key: aws.String(key),
			Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end-1))})
		if err != nil {
			return nil, 0, c.Err("GetObject", key, err)
		}
		return out.Body, end, nil
	}
	policy := rangeread.Policy{
		Open: func(_ int, _ int64, err error) error { return err }, // the SDK has retried already
		Read: func(failures int, pos int64, err error) error {
			if failures > maxResumes {
				return fmt.Errorf("%s: the read failed %d times in a row at byte %d: %v", c.Loc.Object(key), failures, pos, err)
			}
			return nil
		},
	}
	return &objectReader{rangeread.New(ctx, open, rangeread.Options{Size: size, Timeout: Timeout,
		MinChunk: minRange, MaxChunk: maxRange, CacheBlocks: cacheBlocks, Policy: policy})}
}

// Close ends the reader's request, if one is open.
func (r *objectReader) Close() { r.Reader.Close() }
