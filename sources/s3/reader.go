package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/metrics"
)

// objectReader reads one object with ranged GetObject calls: a seekable
// media.Input, so FFmpeg reads it through vpipe's own I/O and an MP4/MOV is
// mapped from its sample table without fetching the payload (media.Scan), about
// one pass over the bytes instead of two. Ranges start small and double while
// reading runs forward (a seek starts small again). The SDK's retryer handles
// errors before a body arrives; a body that is cut, or stalls for the client's
// timeout (source.timeout_s), is resumed from the byte reached, up to
// maxResumes times in a row.
//
// FFmpeg reads some regions more than once (the probe, then the map, then the
// decode pass each read the head and the moov), so the bytes fetched are also
// kept in a small cache of aligned blocks (at most cacheBlocks × blockSize
// a video) and served from there when read again.
type objectReader struct {
	ctx  context.Context
	c    *s3conn.Client
	key  string
	size int64

	pos              int64
	body             io.ReadCloser
	cancel           context.CancelFunc
	bodyPos, bodyEnd int64 // the body's next byte and the end of its range
	chunk            int64
	fetched          atomic.Int64

	cache map[int64][]byte // by block index: the block's bytes read so far, from its start
	order []int64          // cached blocks, oldest first
}

const (
	blockSize   = 64 << 10
	cacheBlocks = 64
	minRange    = blockSize
	maxRange    = 8 << 20
	maxResumes  = 5
)

func newObjectReader(ctx context.Context, c *s3conn.Client, key string, size int64) *objectReader {
	return &objectReader{ctx: ctx, c: c, key: key, size: size, chunk: minRange, cache: map[int64][]byte{}}
}

func (r *objectReader) Size() int64    { return r.size }
func (r *objectReader) Fetched() int64 { return r.fetched.Load() }

func (r *objectReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.size
	default:
		return 0, errors.New("bad whence")
	}
	if off < 0 {
		return 0, errors.New("negative position")
	}
	r.pos = off
	return off, nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b := r.cache[r.pos/blockSize]; r.pos%blockSize < int64(len(b)) {
		n := copy(p, b[r.pos%blockSize:])
		r.pos += int64(n)
		return n, nil
	}
	if r.body != nil && r.pos != r.bodyPos && (r.pos < r.bodyPos || r.pos >= r.bodyEnd || r.pos-r.bodyPos > blockSize) {
		r.closeBody() // a seek: small ranges again
		r.chunk = minRange
	}
	for failures := 0; ; {
		if r.body == nil {
			if err := r.open(); err != nil {
				return 0, err // the SDK has retried already
			}
		}
		// A range starts at a block's start, and a short hop forward is cheaper
		// to read through than to ask for anew: both are kept in the cache.
		var n int
		err := r.skipTo(r.pos)
		if err == nil {
			n, err = r.readBody(p[:min(int64(len(p)), r.bodyEnd-r.bodyPos)])
		}
		if n > 0 {
			r.pos += int64(n)
			if r.bodyPos >= r.bodyEnd {
				r.closeBody()
				r.chunk = min(r.chunk*2, maxRange)
			}
			return n, nil
		}
		r.closeBody()
		if r.ctx.Err() != nil {
			return 0, r.ctx.Err()
		}
		if failures++; failures > maxResumes {
			return 0, fmt.Errorf("%s: the read failed %d times in a row at byte %d: %v", r.c.Loc.Object(r.key), failures, r.pos, err)
		}
	}
}

// skipTo reads the body up to off.
func (r *objectReader) skipTo(off int64) error {
	if r.bodyPos >= off {
		return nil
	}
	if _, err := r.readBody(make([]byte, off-r.bodyPos)); err != nil {
		return err
	}
	if r.bodyPos != off {
		return io.ErrUnexpectedEOF // cut short
	}
	return nil
}

// readBody reads once from the body. A read that brings nothing for the
// client's timeout (source.timeout_s) is given up by the client's stall watch
// (s3conn), with a StallError: no timer of its own here.
func (r *objectReader) readBody(p []byte) (int, error) {
	n, err := io.ReadFull(r.body, p)
	r.keep(r.bodyPos, p[:n])
	r.bodyPos += int64(n)
	r.fetched.Add(int64(n))
	metrics.SourceBytes(int64(n))
	if n > 0 && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// keep adds bytes read from the body at off to the cache: a block's entry is
// the part of it read so far, from its start; bytes that do not continue an
// entry (or start a block) are not kept.
func (r *objectReader) keep(off int64, b []byte) {
	for len(b) > 0 {
		blk, in := off/blockSize, off%blockSize
		n := min(int64(len(b)), blockSize-in)
		have, ok := r.cache[blk]
		switch {
		case ok && int64(len(have)) == in:
			r.cache[blk] = append(have, b[:n]...)
		case !ok && in == 0:
			if len(r.order) == cacheBlocks {
				delete(r.cache, r.order[0])
				r.order = r.order[1:]
			}
			r.cache[blk] = append(make([]byte, 0, min(blockSize, r.size-off)), b[:n]...)
			r.order = append(r.order, blk)
		}
		off, b = off+n, b[n:]
	}
}

func (r *objectReader) open() error {
	// From the end of what the cache holds of this block (a block's start, or
	// where an earlier read of it stopped).
	start := r.pos / blockSize * blockSize
	start += min(int64(len(r.cache[r.pos/blockSize])), r.pos-start)
	end := min((r.pos+r.chunk+blockSize-1)/blockSize*blockSize, r.size)
	ctx, cancel := context.WithCancel(r.ctx)
	out, err := r.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.c.Loc.Bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end-1))})
	if err != nil {
		cancel()
		return r.c.Err("GetObject", r.key, err)
	}
	r.body, r.cancel, r.bodyPos, r.bodyEnd = out.Body, cancel, start, end
	return nil
}

func (r *objectReader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.cancel()
		r.body = nil
	}
}

// Close ends the reader's request, if one is open.
func (r *objectReader) Close() { r.closeBody() }
