package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/metrics"
)

// Stream reads a video from the server's storage with Range requests: a
// seekable reader for media.Input. A read that stalls for ReadTimeout, or a
// connection cut mid-way, is resumed with a new Range request from the byte it
// stopped at, up to the client's retry count in a row. Fetched counts every
// byte received.
type Stream struct {
	c       *Client
	ctx     context.Context
	url     string // on the configured server
	name    string // for errors
	size    int64
	timeout time.Duration

	pos     int64
	body    io.ReadCloser
	cancel  context.CancelFunc
	bodyPos int64 // offset of the body's next byte
	bodyEnd int64 // end (exclusive) of the body's range
	chunk   int64
	fetched atomic.Int64
	resumed atomic.Int64
}

const (
	minChunk = 32 << 10
	maxChunk = 8 << 20
)

// StorageURL rewrites a fullStorageUrl to the configured server's scheme and
// host (§2.4): the key is never sent to the host the URL names.
func (c *Client) StorageURL(full string) (string, error) {
	u, err := url.Parse(full)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("supervisely: fullStorageUrl %q is not a URL", full)
	}
	u.Scheme, u.Host, u.User = c.base.Scheme, c.base.Host, nil
	return u.String(), nil
}

// OpenStream prepares a Stream of size bytes (from fileMeta.size) at the storage
// URL fullStorageUrl; nothing is fetched until the first Read.
func (c *Client) OpenStream(ctx context.Context, fullStorageURL, name string, size int64, readTimeout time.Duration) (*Stream, error) {
	u, err := c.StorageURL(fullStorageURL)
	if err != nil {
		return nil, err
	}
	if readTimeout <= 0 {
		readTimeout = 30 * time.Second
	}
	s := &Stream{c: c, ctx: ctx, url: u, name: name, size: size, timeout: readTimeout, chunk: minChunk}
	if size <= 0 {
		return nil, fmt.Errorf("supervisely: %s: the server gives no file size", name)
	}
	return s, nil
}

// Size is the video's length in bytes.
func (s *Stream) Size() int64 { return s.size }

// Fetched is how many bytes came over the network so far.
func (s *Stream) Fetched() int64 { return s.fetched.Load() }

// Resumed is how many times a stalled or cut stream was resumed.
func (s *Stream) Resumed() int64 { return s.resumed.Load() }

// Seek moves the read position; the next Read fetches from there.
func (s *Stream) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += s.pos
	case io.SeekEnd:
		off += s.size
	default:
		return 0, errors.New("bad whence")
	}
	if off < 0 {
		return 0, errors.New("negative position")
	}
	s.pos = off
	return off, nil
}

// Read reads from the current position.
func (s *Stream) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if s.body != nil && s.pos != s.bodyPos {
		// A short hop forward inside the body is cheaper to read through.
		if s.pos > s.bodyPos && s.pos < s.bodyEnd && s.pos-s.bodyPos <= 64<<10 {
			if _, err := s.readBody(make([]byte, s.pos-s.bodyPos)); err != nil || s.bodyPos != s.pos {
				s.closeBody() // failed or cut short: ask for a range from pos
			}
		} else {
			s.closeBody()
			s.chunk = minChunk // a seek: small ranges again
		}
	}
	var last error
	for failures := 0; ; {
		if s.body == nil {
			if err := s.open(); err != nil {
				var e *Error
				if errors.As(err, &e) && !s.c.retry(e) {
					return 0, err
				}
				last = err
				failures++
				if failures > s.c.retries || s.ctx.Err() != nil {
					return 0, fmt.Errorf("%s: %w", s.name, last)
				}
				if err := s.retry(failures, last); err != nil {
					return 0, err
				}
				continue
			}
		}
		n, err := s.readBody(p[:min(int64(len(p)), s.bodyEnd-s.bodyPos)])
		if n > 0 {
			s.pos += int64(n)
			if s.bodyPos >= s.bodyEnd {
				s.closeBody()
				s.chunk = min(s.chunk*2, maxChunk)
			}
			return n, nil
		}
		// Stalled or cut: resume from here with a new range.
		s.closeBody()
		if s.ctx.Err() != nil {
			return 0, s.ctx.Err()
		}
		last = err
		failures++
		s.resumed.Add(1)
		metrics.Retry(metrics.Supervisely)
		if failures > s.c.retries {
			return 0, fmt.Errorf("%s: the video stream failed %d times in a row at byte %d: %v", s.name, failures, s.pos, last)
		}
		if err := s.retry(failures, fmt.Errorf("GET %s at byte %d: %w", s.name, s.pos, last)); err != nil {
			return 0, err
		}
	}
}

// retry logs the failures-th failure in a row and waits before the next try.
func (s *Stream) retry(failures int, err error) error {
	d := s.c.wait(failures-1, &Error{})
	s.c.logRetry("GET "+s.name, err, failures-1, d)
	return sleep(s.ctx, d)
}

// readBody reads once from the body; a read that brings nothing within the
// timeout cancels the request.
func (s *Stream) readBody(p []byte) (int, error) {
	t := time.AfterFunc(s.timeout, s.cancel)
	n, err := io.ReadFull(s.body, p)
	stalled := !t.Stop()
	s.bodyPos += int64(n)
	s.fetched.Add(int64(n))
	metrics.SourceBytes(int64(n))
	if n > 0 && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)) {
		return n, nil
	}
	if stalled {
		return n, fmt.Errorf("no data for %s", s.timeout)
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *Stream) open() error {
	end := min(s.pos+s.chunk, s.size)
	ctx, cancel := context.WithCancel(s.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return err
	}
	req.Header.Set("x-api-key", s.c.token)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", s.pos, end-1))
	s.c.connecting()
	s.c.calls.Add(1)
	// The header must come within the timeout too.
	t := time.AfterFunc(s.timeout, cancel)
	resp, err := s.c.hc.Do(req)
	t.Stop()
	if err != nil {
		cancel()
		return &Error{Method: "GET " + s.name, Message: s.c.redact(err.Error()), Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(s.pos, 10)+"-") {
			resp.Body.Close()
			cancel()
			return &Error{Method: "GET " + s.name, Status: resp.StatusCode, Message: "Content-Range " + resp.Header.Get("Content-Range") + " is not the range asked for"}
		}
	case resp.StatusCode == http.StatusOK && s.pos == 0:
		end = s.size // the whole file, no range support
	default:
		e := s.c.statusError("GET "+s.name, resp)
		cancel()
		return e
	}
	s.body, s.cancel, s.bodyPos, s.bodyEnd = resp.Body, cancel, s.pos, end
	return nil
}

func (s *Stream) closeBody() {
	if s.body != nil {
		s.body.Close()
		s.cancel()
		s.body = nil
	}
}

// Close ends the current request.
func (s *Stream) Close() error {
	s.closeBody()
	return nil
}
