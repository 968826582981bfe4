// Package rangeread is the one resumable ranged reader of vpipe: a seekable
// io.Reader over an object of known size, read with ranged requests (S3
// GetObject, the Supervisely platform's storage, any store). Ranges start
// small and double while reading runs forward (a seek starts small again); a
// short hop forward inside the current range is read through. A read that
// brings nothing for Timeout cancels its request, and a body that stalls or
// is cut is resumed from the byte reached; the caller's Policy decides how
// many times in a row, and how long to wait. Optionally the bytes fetched
// are kept in a small cache of aligned blocks (FFmpeg reads the head and the
// moov of an MP4 more than once) and served from there when read again.
// Every byte received is counted (Fetched, metrics.SourceBytes).
package rangeread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/metrics"
)

// Opener starts a request for bytes [start, end) of the object; ctx is
// cancelled when the reader is done with the body (or a read stalls). It
// returns the body and the end of the range it holds (the whole object when
// the server ignored the range).
type Opener func(ctx context.Context, start, end int64) (body io.ReadCloser, bodyEnd int64, err error)

// Policy is what the reader does with a failure: it returns nil to try again
// (after waiting, if it wants), or the error to give the caller. failures is
// how many failed in a row, pos the byte the read is at.
type Policy struct {
	// Open decides after a request that failed before its body.
	Open func(failures int, pos int64, err error) error
	// Read decides after a body that stalled or was cut (err says which).
	Read func(failures int, pos int64, err error) error
}

// Options shape a reader.
type Options struct {
	Size     int64         // the object's length
	Timeout  time.Duration // a read that brings nothing for this long is cancelled; 0 = no timer here (the client watches its own reads)
	MinChunk int64         // the first range's length (and after a seek)
	MaxChunk int64         // ranges double up to this
	// CacheBlocks, if > 0, keeps that many blocks of BlockSize bytes read,
	// and ranges then start and end on block boundaries.
	CacheBlocks int
	Policy      Policy
}

// BlockSize is the cache's block, and how far forward a hop is read through.
const BlockSize = 64 << 10

// Reader reads one object; it is not safe for concurrent use (Fetched is).
type Reader struct {
	ctx  context.Context
	open Opener
	o    Options

	pos              int64
	body             io.ReadCloser
	cancel           context.CancelFunc
	bodyPos, bodyEnd int64 // the body's next byte and the end of its range
	chunk            int64
	fetched          atomic.Int64

	cache map[int64][]byte // by block index: the block's bytes read so far, from its start
	order []int64          // cached blocks, oldest first
}

// New makes a reader; nothing is fetched until the first Read.
func New(ctx context.Context, open Opener, o Options) *Reader {
	return &Reader{ctx: ctx, open: open, o: o, chunk: o.MinChunk, cache: map[int64][]byte{}}
}

// Size is the object's length.
func (r *Reader) Size() int64 { return r.o.Size }

// Fetched is how many bytes came over the network so far.
func (r *Reader) Fetched() int64 { return r.fetched.Load() }

// Seek moves the read position; the next Read fetches from there.
func (r *Reader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.o.Size
	default:
		return 0, errors.New("bad whence")
	}
	if off < 0 {
		return 0, errors.New("negative position")
	}
	r.pos = off
	return off, nil
}

// Read reads from the current position.
func (r *Reader) Read(p []byte) (int, error) {
	if r.pos >= r.o.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b := r.cache[r.pos/BlockSize]; r.pos%BlockSize < int64(len(b)) {
		n := copy(p, b[r.pos%BlockSize:])
		r.pos += int64(n)
		return n, nil
	}
	r.hop()
	for failures := 0; ; {
		if r.body == nil {
			if err := r.start(); err != nil {
				failures++
				if err := r.o.Policy.Open(failures, r.pos, err); err != nil {
					return 0, err
				}
				continue
			}
		}
		var n int
		err := r.skipTo(r.pos) // a range may start before pos (at a block's start)
		if err == nil {
			n, err = r.readBody(p[:min(int64(len(p)), r.bodyEnd-r.bodyPos)])
		}
		if n > 0 {
			r.pos += int64(n)
			if r.bodyPos >= r.bodyEnd {
				r.closeBody()
				r.chunk = min(r.chunk*2, r.o.MaxChunk)
			}
			return n, nil
		}
		// Stalled or cut: resume from here with a new range.
		r.closeBody()
		if r.ctx.Err() != nil {
			return 0, r.ctx.Err()
		}
		failures++
		if err := r.o.Policy.Read(failures, r.pos, err); err != nil {
			return 0, err
		}
	}
}

// hop keeps the body for a short hop forward inside its range, reading
// through it (a failure there only closes the body: a new range starts at
// the position), and closes it for a seek, starting small again.
func (r *Reader) hop() {
	if r.body == nil || r.pos == r.bodyPos {
		return
	}
	if r.pos > r.bodyPos && r.pos < r.bodyEnd && r.pos-r.bodyPos <= BlockSize {
		if err := r.skipTo(r.pos); err != nil {
			r.closeBody()
		}
		return
	}
	r.closeBody()
	r.chunk = r.o.MinChunk
}

// skipTo reads the body up to off.
func (r *Reader) skipTo(off int64) error {
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

// readBody reads once from the body; a read that brings nothing within
// Timeout (when set) cancels the request.
func (r *Reader) readBody(p []byte) (int, error) {
	stalled := false
	var t *time.Timer
	if r.o.Timeout > 0 {
		t = time.AfterFunc(r.o.Timeout, r.cancel)
	}
	n, err := io.ReadFull(r.body, p)
	if t != nil {
		stalled = !t.Stop()
	}
	r.keep(r.bodyPos, p[:n])
	r.bodyPos += int64(n)
	r.fetched.Add(int64(n))
	metrics.SourceBytes(int64(n))
	if n > 0 && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)) {
		return n, nil
	}
	if stalled {
		return n, fmt.Errorf("no data for %s", r.o.Timeout)
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// keep adds bytes read from the body at off to the cache: a block's entry is
// the part of it read so far, from its start; bytes that do not continue an
// entry (or start a block) are not kept.
func (r *Reader) keep(off int64, b []byte) {
	if r.o.CacheBlocks <= 0 {
		return
	}
	for len(b) > 0 {
		blk, in := off/BlockSize, off%BlockSize
		n := min(int64(len(b)), BlockSize-in)
		have, ok := r.cache[blk]
		switch {
		case ok && int64(len(have)) == in:
			r.cache[blk] = append(have, b[:n]...)
		case !ok && in == 0:
			if len(r.order) == r.o.CacheBlocks {
				delete(r.cache, r.order[0])
				r.order = r.order[1:]
			}
			r.cache[blk] = append(make([]byte, 0, min(BlockSize, r.o.Size-off)), b[:n]...)
			r.order = append(r.order, blk)
		}
		off, b = off+n, b[n:]
	}
}

// start opens a range from pos; with the cache, from the end of what it holds
// of pos's block (a block's start, or where an earlier read of it stopped) to
// a block's end.
func (r *Reader) start() error {
	start, end := r.pos, min(r.pos+r.chunk, r.o.Size)
	if r.o.CacheBlocks > 0 {
		start = r.pos / BlockSize * BlockSize
		start += min(int64(len(r.cache[r.pos/BlockSize])), r.pos-start)
		end = min((r.pos+r.chunk+BlockSize-1)/BlockSize*BlockSize, r.o.Size)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	body, bodyEnd, err := r.open(ctx, start, end)
	if err != nil {
		cancel()
		return err
	}
	r.body, r.cancel, r.bodyPos, r.bodyEnd = body, cancel, start, bodyEnd
	return nil
}

func (r *Reader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.cancel()
		r.body = nil
	}
}

// Close ends the current request, if one is open.
func (r *Reader) Close() error {
	r.closeBody()
	return nil
}

// Ranger is what a store offers for ranged reads (store.Store has it).
type Ranger interface {
	NewRangeReader(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
}

// FromStore is the Opener of key in a store: a new store gets resumable
// ranged reads by implementing NewRangeReader.
func FromStore(st Ranger, key string) Opener {
	return func(ctx context.Context, start, end int64) (io.ReadCloser, int64, error) {
		body, err := st.NewRangeReader(ctx, key, start, end-start)
		return body, end, err
	}
}
