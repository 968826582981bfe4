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

	"github.com/vpipe/vpipe/store/rangeread"
)

// Stream reads a video from the server's storage with Range requests
// (store/rangeread): a seekable reader for media.Input. A read that stalls
// for ReadTimeout, or a connection cut mid-way, is resumed with a new Range
// request from the byte it stopped at, up to the client's retry count in a
// row. Fetched counts every byte received.
type Stream struct {
	*rangeread.Reader
	c       *Client
	ctx     context.Context
	url     string // on the configured server
	name    string // for errors
	timeout time.Duration
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
	if size <= 0 {
		return nil, fmt.Errorf("supervisely: %s: the server gives no file size", name)
	}
	s := &Stream{c: c, ctx: ctx, url: u, name: name, timeout: readTimeout}
	s.Reader = rangeread.New(ctx, s.open, rangeread.Options{Size: size, Timeout: readTimeout,
		MinChunk: minChunk, MaxChunk: maxChunk, Policy: rangeread.Policy{Open: s.openFailed, Read: s.readFailed}})
	return s, nil
}

// Resumed is how many times a stalled or cut stream was resumed.
func (s *Stream) Resumed() int64 { return s.resumed.Load() }

// openFailed retries a request that failed before its body, when the
// client's policy retries its error, up to the client's retry count in a row.
func (s *Stream) openFailed(failures int, _ int64, err error) error {
	var e *Error
	if errors.As(err, &e) && !s.c.retry(e) {
		return err
	}
	if failures > s.c.retries || s.ctx.Err() != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return s.retry(failures, err)
}

// readFailed resumes a body that stalled or was cut, up to the client's
// retry count in a row.
func (s *Stream) readFailed(failures int, pos int64, err error) error {
	s.resumed.Add(1)
	counters.Retry()
	if failures > s.c.retries {
		return fmt.Errorf("%s: the video stream failed %d times in a row at byte %d: %v", s.name, failures, pos, err)
	}
	return s.retry(failures, fmt.Errorf("GET %s at byte %d: %w", s.name, pos, err))
}

// retry logs the failures-th failure in a row and waits before the next try.
func (s *Stream) retry(failures int, err error) error {
	d := s.c.wait(failures-1, &Error{})
	s.c.logRetry("GET "+s.name, err, failures-1, d)
	return sleep(s.ctx, d)
}

// open asks for bytes [start, end) of the video; the header must come within
// the read timeout too. A server that ignores the range is read whole from
// byte 0.
func (s *Stream) open(ctx context.Context, start, end int64) (io.ReadCloser, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	req.Header.Set("x-api-key", s.c.token)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end-1))
	s.c.connecting()
	s.c.calls.Add(1)
	t := time.AfterFunc(s.timeout, cancel)
	resp, err := s.c.hc.Do(req)
	t.Stop()
	if err != nil {
		cancel()
		return nil, 0, &Error{Method: "GET " + s.name, Message: s.c.redact(err.Error()), Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(start, 10)+"-") {
			resp.Body.Close()
			cancel()
			return nil, 0, &Error{Method: "GET " + s.name, Status: resp.StatusCode, Message: "Content-Range " + resp.Header.Get("Content-Range") + " is not the range asked for"}
		}
	case resp.StatusCode == http.StatusOK && start == 0:
		end = s.Size() // the whole file, no range support
	default:
		e := s.c.statusError("GET "+s.name, resp)
		cancel()
		return nil, 0, e
	}
	return cancelOnClose{resp.Body, cancel}, end, nil
}

// cancelOnClose ends a request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
