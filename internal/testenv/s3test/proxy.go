package s3test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is what the proxy does to one request.
type Fault int

const (
	// Pass forwards the request untouched.
	Pass Fault = iota
	// SlowDown answers 503 SlowDown without forwarding.
	SlowDown
	// Reset forwards the request and cuts the connection (TCP RST) halfway
	// through the object: through the request body of a PUT, or through the
	// response body of a GET.
	Reset
	// Stall forwards the request, sends the answer's headers and then none of
	// its body, without closing: a read that hangs until the client gives up
	// (or the proxy closes).
	Stall
	// Freeze answers nothing and reads no more of the request: the
	// connection stays open, as with a server that was stopped (SIGSTOP),
	// until the client gives up or the proxy closes.
	Freeze
	// Trickle forwards the request reading its body slowly (TrickleChunk
	// bytes every TrickleEvery): a slow upload that keeps making progress.
	Trickle
)

// The pace of Trickle.
const (
	TrickleChunk = 16 << 10
	TrickleEvery = 100 * time.Millisecond
)

// Proxy sits between a client and the server, forwards requests unchanged
// (the Host header too, so SigV4 signatures stay valid), counts bytes per
// object and injects the faults Rule asks for.
type Proxy struct {
	URL string
	// Rule picks the fault for a request (nil = Pass). It may be called from
	// several goroutines.
	Rule func(r *http.Request) Fault
	// StallFor, if set, ends a Stall after this long: the answer's body then
	// goes on (a server that paused). Set before the first request.
	StallFor time.Duration

	srv    *httptest.Server
	target *url.URL
	tr     *http.Transport

	mu    sync.Mutex
	read  map[string]int64 // response body bytes sent, per object path (/bucket/key)
	calls map[string]int   // requests forwarded, per "METHOD /bucket/key"
	// released counts the stalled requests the client gave up.
	released int
	frozen   int
	closed   chan struct{}
}

// Frozen is how many requests got the Freeze fault.
func (p *Proxy) Frozen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}

// Released is how many stalled requests ended because the client gave up.
func (p *Proxy) Released() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.released
}

// NewProxy starts a proxy to endpoint.
func NewProxy(endpoint string) *Proxy {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	p := &Proxy{target: u, tr: &http.Transport{MaxIdleConnsPerHost: 16}, read: map[string]int64{}, calls: map[string]int{},
		closed: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy.
func (p *Proxy) Close() {
	close(p.closed)
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.tr.CloseIdleConnections()
}

// BytesRead is how many response body bytes of GETs on /bucket/key went
// through the proxy.
func (p *Proxy) BytesRead(bucket, key string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.read["/"+bucket+"/"+key]
}

// Calls counts forwarded requests whose method is method and whose path
// (/bucket/key) matches match.
func (p *Proxy) Calls(method string, match func(path string) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, c := range p.calls {
		m, path, _ := strings.Cut(k, " ")
		if m == method && match(path) {
			n += c
		}
	}
	return n
}

// ResetCounts zeroes the counters.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read, p.calls = map[string]int64{}, map[string]int{}
}

const slowDownBody = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault</RequestId></Error>`

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	fault := Pass
	if p.Rule != nil {
		fault = p.Rule(r)
	}
	if fault == SlowDown {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, slowDownBody)
		return
	}
	if fault == Freeze {
		p.freeze(w, r)
		return
	}
	path := r.URL.Path
	if fault == Trickle && r.ContentLength > 0 {
		r.Body = &trickle{r: r.Body}
	}
	if fault == Reset && r.ContentLength > 1 {
		// Take half the upload, then drop the connection: the server never
		// sees a complete request, so it stores nothing.
		io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		reset(w)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = r.Host
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.mu.Lock()
	p.calls[r.Method+" "+path]++
	p.mu.Unlock()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if fault == Stall {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if !p.pause(r) {
			return
		}
	}
	limit := int64(-1)
	if fault == Reset && r.Method == http.MethodGet && resp.ContentLength > 1 {
		limit = resp.ContentLength / 2
	}
	var n int64
	if limit >= 0 {
		n, _ = io.CopyN(w, resp.Body, limit)
	} else {
		n, _ = io.Copy(w, resp.Body)
	}
	if r.Method == http.MethodGet {
		p.mu.Lock()
		p.read[path] += n
		p.mu.Unlock()
	}
	if limit >= 0 {
		reset(w)
	}
}

// pause holds a stalled answer until the client gives up (false) or, with
// StallFor, until that has passed (true: the body goes on).
func (p *Proxy) pause(r *http.Request) bool {
	var after <-chan time.Time
	if p.StallFor > 0 {
		t := time.NewTimer(p.StallFor)
		defer t.Stop()
		after = t.C
	}
	select {
	case <-after:
		return true
	case <-r.Context().Done():
		p.mu.Lock()
		p.released++
		p.mu.Unlock()
		return false
	}
}

// reset flushes what was written and closes the connection with a TCP RST.
func reset(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(fmt.Sprintf("s3test proxy: hijack: %v", err))
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// freeze holds the connection without reading or answering until the proxy
// closes (a client that gave up has closed its end by then).
func (p *Proxy) freeze(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.frozen++
	p.mu.Unlock()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(fmt.Sprintf("s3test proxy: hijack: %v", err))
	}
	defer conn.Close()
	<-p.closed
}

// trickle reads at most TrickleChunk bytes every TrickleEvery.
type trickle struct{ r io.ReadCloser }

func (t *trickle) Read(b []byte) (int, error) {
	time.Sleep(TrickleEvery)
	return t.r.Read(b[:min(len(b), TrickleChunk)])
}

func (t *trickle) Close() error { return t.r.Close() }
