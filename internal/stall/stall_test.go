package stall

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const d = 150 * time.Millisecond

// server answers every request with h; it is closed after the test.
func server(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func get(t *testing.T, ctx context.Context, c Doer, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

// An attempt the server never answers is given up after d with an Error
// that retryers take for a timeout, counted under WithCount.
func TestNoAnswer(t *testing.T) {
	url := server(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := Client(&http.Client{}, d)
	n := new(Count)
	start := time.Now()
	_, err := get(t, WithCount(context.Background(), n), c, url)
	var se *Error
	if !errors.As(err, &se) || se.For != d || !se.Timeout() || !se.Temporary() || !se.RetryableError() || !se.Unreachable() || se.Single {
		t.Fatalf("got %v (%T), want a retryable stall Error for %s", err, err, d)
	}
	if took := time.Since(start); took < d || took > 10*d {
		t.Errorf("gave up after %s, want about %s", took, d)
	}
	if n.N() != 1 {
		t.Errorf("counted %d stalled attempts, want 1", n.N())
	}
	if se.Error() != "no answer: nothing sent or received for 150ms" {
		t.Errorf("message %q", se.Error())
	}
	_, err = get(t, OnlyAttempt(context.Background()), c, url)
	if !errors.As(err, &se) || !se.Single || se.RetryableError() {
		t.Fatalf("only attempt: got %v (single %v), want an Error the retryer does not retry", err, se.Single)
	}
}

// A slow answer that keeps moving is never cut, however long it takes.
func TestSlowAnswerKeepsGoing(t *testing.T) {
	url := server(t, func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			time.Sleep(d / 2)
		}
	})
	resp, err := get(t, context.Background(), Transport(http.DefaultTransport, d).(Doer), url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "xxxxxxxx" {
		t.Fatalf("read %q, %v; want 8 bytes over %s and no error", b, err, 4*d)
	}
}

// A body read that stops getting bytes ends with the Error; an answer
// nobody reads is not cut meanwhile.
func TestStalledBody(t *testing.T) {
	url := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	resp, err := get(t, context.Background(), Client(&http.Client{}, d), url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(3 * d) // unread: not a stall
	_, err = io.ReadAll(resp.Body)
	var se *Error
	if !errors.As(err, &se) || se.Stalled != 0 {
		t.Fatalf("read of a stalled body: %v (%T), want the stall Error", err, err)
	}
}

// A zero timeout watches nothing.
func TestZeroWatchesNothing(t *testing.T) {
	if Transport(http.DefaultTransport, 0) != http.DefaultTransport {
		t.Error("Transport with d=0 wrapped its transport")
	}
}
