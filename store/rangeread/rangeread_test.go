package rangeread_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/store/rangeread"
)

// object serves ranges of data; fault, when set, may replace a body.
type object struct {
	data   []byte
	mu     sync.Mutex
	opens  int
	served int64
	fault  func(n int, body io.ReadCloser, ctx context.Context) io.ReadCloser
}

func (o *object) open(ctx context.Context, start, end int64) (io.ReadCloser, int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	o.served += end - start
	var body io.ReadCloser = io.NopCloser(bytes.NewReader(o.data[start:end]))
	if o.fault != nil {
		body = o.fault(o.opens, body, ctx)
	}
	return body, end, nil
}

func newData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}

func reader(o *object, cache int, read func(int, int64, error) error) *rangeread.Reader {
	return rangeread.New(context.Background(), o.open, rangeread.Options{Size: int64(len(o.data)), Timeout: 200 * time.Millisecond,
		MinChunk: 1 << 10, MaxChunk: 256 << 10, CacheBlocks: cache,
		Policy: rangeread.Policy{Open: func(_ int, _ int64, err error) error { return err }, Read: read}})
}

func resumeAlways(int, int64, error) error { return nil }

// Random seeks and reads return exactly the object's bytes, with and without
// the cache; the cache serves a second pass without fetching.
func TestSeeksReadExactBytes(t *testing.T) {
	for _, cache := range []int{0, 64} {
		o := &object{data: newData(3<<20 + 123)}
		r := reader(o, cache, resumeAlways)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 300; i++ {
			off := rng.Int64N(int64(len(o.data)))
			if i%3 == 0 { // a short hop forward
				off = min(int64(len(o.data))-1, off/2)
			}
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			p := make([]byte, rng.IntN(100_000)+1)
			n, err := io.ReadFull(r, p)
			if (err != nil && !errors.Is(err, io.ErrUnexpectedEOF)) || !bytes.Equal(p[:n], o.data[off:off+int64(n)]) {
				t.Fatalf("cache %d: read %d at %d: %d bytes, %v", cache, len(p), off, n, err)
			}
		}
		if got := r.Fetched(); got <= 0 || got > o.served {
			t.Fatalf("Fetched %d, served %d", got, o.served)
		}
		if cache > 0 {
			r.Seek(0, io.SeekStart)
			io.ReadFull(r, make([]byte, 100_000))
			before := r.Fetched()
			r.Seek(0, io.SeekStart)
			if _, err := io.ReadFull(r, make([]byte, 100_000)); err != nil || r.Fetched() != before {
				t.Fatalf("a second read of cached blocks fetched %d bytes (%v)", r.Fetched()-before, err)
			}
		}
		r.Close()
	}
}

// cutAfter is a body that ends with an error after n bytes.
type cutAfter struct {
	r io.Reader
	n int
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	p = p[:min(len(p), c.n)]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// stalled is a body that brings nothing until its request is cancelled.
type stalled struct{ ctx context.Context }

func (s stalled) Read([]byte) (int, error) { <-s.ctx.Done(); return 0, s.ctx.Err() }

// Bodies cut mid-way and bodies that stall are resumed from the byte reached:
// the object reads whole and exact; the policy sees each failure, and its
// error ends the read.
func TestResumeCutAndStalled(t *testing.T) {
	o := &object{data: newData(1 << 20)}
	o.fault = func(n int, body io.ReadCloser, ctx context.Context) io.ReadCloser {
		switch n % 4 {
		case 1:
			return io.NopCloser(&cutAfter{r: body, n: 700})
		case 2:
			return io.NopCloser(stalled{ctx})
		}
		return body
	}
	var failures []string
	r := reader(o, 0, func(f int, pos int64, err error) error {
		failures = append(failures, err.Error())
		return nil
	})
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, o.data) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(o.data), err)
	}
	joined := strings.Join(failures, "|")
	if !strings.Contains(joined, "no data for") || !strings.Contains(joined, "reset") {
		t.Fatalf("failures seen: %s", joined)
	}
	o.fault = func(_ int, _ io.ReadCloser, ctx context.Context) io.ReadCloser { return io.NopCloser(stalled{ctx}) }
	r = reader(o, 0, func(f int, pos int64, err error) error {
		if f > 2 {
			return errors.New("given up")
		}
		return nil
	})
	if _, err := r.Read(make([]byte, 10)); err == nil || err.Error() != "given up" {
		t.Fatalf("a read that always stalls: %v", err)
	}
}
