// Package api is a client for Supervisely's public REST API (reference §1–§3):
// POST {server}/public/api/v3/<method> with an x-api-key header and a JSON body,
// the SDK's retry policy, pagination over pagesCount, and errors that name the
// method, the HTTP status and the server's message. The token is sent only to the
// configured server and never appears in an error.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpipe/vpipe/metrics"
)

// Options configure a client. Zero values take the SDK's defaults.
type Options struct {
	// Server is the server address ("https://app.supervisely.com", or a bare host).
	Server string
	// Token is the API token (API_TOKEN); it is only ever read from the environment.
	Token string
	// Retries is how many times a failed call is retried (the SDK: 10).
	Retries int
	// RetrySleep is the base of the exponential backoff (the SDK: 1 s); the wait is capped at 60 s.
	RetrySleep time.Duration
	// Timeout bounds one attempt of one call (default 60 s).
	Timeout time.Duration
	// HTTP is the transport; nil means a fresh http.Client.
	HTTP *http.Client
	// TaskID, when set (SUPERVISELY_TASK_ID), is sent as x-task-id.
	TaskID string
	// Log gets the client's lines: the server it connects to (INFO, at the
	// first call) and every failed attempt that is retried (WARN). nil = none.
	Log *slog.Logger
}

// Env names (reference §1).
const (
	EnvServer      = "SERVER_ADDRESS"
	EnvServerAPI   = "SUPERVISELY_API_SERVER_ADDRESS"
	EnvToken       = "API_TOKEN"
	EnvRetries     = "SUPERVISELY_PUBLIC_API_RETRIES"
	EnvRetrySleepS = "SUPERVISELY_PUBLIC_API_RETRY_SLEEP_SEC"
	EnvTaskID      = "SUPERVISELY_TASK_ID"
)

// FromEnv fills what o leaves unset from the environment: the server address
// (SUPERVISELY_API_SERVER_ADDRESS, else SERVER_ADDRESS, when o.Server is empty),
// the token (always API_TOKEN), retries and retry sleep.
func FromEnv(o Options, getenv func(string) string) Options {
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Server == "" {
		o.Server = getenv(EnvServerAPI)
	}
	if o.Server == "" {
		o.Server = getenv(EnvServer)
	}
	o.Token = getenv(EnvToken)
	if o.TaskID == "" {
		o.TaskID = getenv(EnvTaskID)
	}
	if o.Retries == 0 {
		if n, err := strconv.Atoi(getenv(EnvRetries)); err == nil && n >= 0 {
			o.Retries = n
		}
	}
	if o.RetrySleep == 0 {
		if f, err := strconv.ParseFloat(getenv(EnvRetrySleepS), 64); err == nil && f >= 0 {
			o.RetrySleep = time.Duration(f * float64(time.Second))
		}
	}
	return o
}

// Client calls one Supervisely server.
type Client struct {
	base    *url.URL // scheme://host[:port][/prefix], no trailing slash
	token   string
	taskID  string
	retries int
	sleep   time.Duration
	timeout time.Duration
	hc      *http.Client
	calls   atomic.Int64
	log     atomic.Pointer[slog.Logger]
	hello   sync.Once // the INFO line naming the server, at the first request
}

// New checks the options and makes a client.
func New(o Options) (*Client, error) {
	if o.Server == "" {
		return nil, fmt.Errorf("supervisely: no server address (set %s or %s, or server_address in the config)", EnvServer, EnvServerAPI)
	}
	if o.Token == "" {
		return nil, fmt.Errorf("supervisely: no API token (set %s in the environment)", EnvToken)
	}
	base, err := NormalizeServer(o.Server)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, token: o.Token, taskID: o.TaskID, retries: o.Retries, sleep: o.RetrySleep, timeout: o.Timeout, hc: o.HTTP}
	if o.Retries == 0 {
		c.retries = 10
	}
	if o.Retries < 0 {
		c.retries = 0
	}
	if c.sleep == 0 {
		c.sleep = time.Second
	}
	if c.timeout == 0 {
		c.timeout = 60 * time.Second
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	// The key goes to the configured host only: a redirect elsewhere (a storage
	// bucket, say) is followed without it.
	hc := *c.hc
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != c.base.Host || req.URL.Scheme != c.base.Scheme {
			req.Header.Del("x-api-key")
		}
		return nil
	}
	c.hc = &hc
	if o.Log != nil {
		c.log.Store(o.Log)
	}
	return c, nil
}

// SetLog sends the client's log lines to l (the server it connects to, each
// retried failure); nil sends them nowhere.
func (c *Client) SetLog(l *slog.Logger) { c.log.Store(l) }

// counters are the API's retries and failed calls, stream resumes included
// (vpipe_retries_total{client="supervisely"}).
var counters = metrics.NewClient("supervisely")

var discard = slog.New(slog.DiscardHandler)

func (c *Client) logger() *slog.Logger {
	if l := c.log.Load(); l != nil {
		return l
	}
	return discard
}

// connecting says, once, before the first request goes out, where the client
// connects and how long it keeps trying (the token is never logged).
func (c *Client) connecting() {
	c.hello.Do(func() {
		c.logger().Info("supervisely: connecting", "server", c.base.String(), "retries", c.retries,
			"retry_sleep", c.sleep.String(), "timeout", c.timeout.String())
	})
}

// logRetry tells that a failed attempt (k from 0) is retried after d.
func (c *Client) logRetry(call string, err error, k int, d time.Duration) {
	msg := strings.TrimPrefix(c.redact(err.Error()), "supervisely "+call+": ")
	c.logger().Warn("supervisely: call failed; retrying", "call", call, "err", msg,
		"attempt", fmt.Sprintf("%d/%d", k+1, c.retries+1), "next_wait", d.String())
}

// NormalizeServer applies the SDK's rules: strip slashes at both ends, add
// http:// when no scheme is given.
func NormalizeServer(s string) (*url.URL, error) {
	s = strings.Trim(strings.TrimSpace(s), "/")
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("supervisely: server address %q is not a URL", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u, nil
}

// Server is the configured server address.
func (c *Client) Server() *url.URL { u := *c.base; return &u }

// Calls is how many HTTP requests the client has sent (attempts included).
func (c *Client) Calls() int64 { return c.calls.Load() }

// Error is a call that failed.
type Error struct {
	Method   string // API method, e.g. images.bulk.add
	Status   int    // HTTP status; 0 when no response came
	Message  string // the server's message (error, details.message), or the transport error
	Type     string // details.type, e.g. NONUNIQUE
	Details  json.RawMessage
	Attempts int
	Err      error // transport error, if any

	retryAfter time.Duration
	exhausted  bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("supervisely " + e.Method + ": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Message)
	if e.exhausted {
		fmt.Fprintf(&b, " (retry limit exceeded: %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound tells whether err is a 404 (for *.info calls: no such entity).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsNonUnique tells whether err is the server's name conflict (§2.2, 6).
func IsNonUnique(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Type == "NONUNIQUE"
}

// retryable are the statuses the SDK retries (§1).
var retryable = map[int]bool{408: true, 429: true, 499: true, 500: true, 502: true, 503: true, 504: true,
	509: true, 598: true, 599: true}

const agentError = "Agent should call AgentConnected or AgentPing before attempting any other request"

// Call posts body (any JSON value) to method and decodes the response into out
// (unless out is nil), retrying as the SDK does.
func (c *Client) Call(ctx context.Context, method string, body, out any) error {
	return c.CallEach(ctx, method, func(int) (any, bool, error) { return body, false, nil }, out)
}

// CallEach is Call with the body rebuilt before every attempt: attempt is 0
// first; after a failure that may have been applied, body can check what the
// server already holds and shrink the request, or say done to stop.
func (c *Client) CallEach(ctx context.Context, method string, body func(attempt int) (any, bool, error), out any) error {
	for attempt := 0; ; attempt++ {
		b, done, err := body(attempt)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		raw, err := json.Marshal(b)
		if err != nil {
			return &Error{Method: method, Message: "encode request: " + err.Error()}
		}
		resp, e := c.attempt(ctx, method, "application/json", raw)
		if e == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(resp, out); err != nil {
				return &Error{Method: method, Status: 200, Message: "decode response: " + c.redact(err.Error()), Attempts: attempt + 1}
			}
			return nil
		}
		if err := c.backoff(ctx, attempt, e); err != nil {
			return err
		}
	}
}

// Post sends a request body of the given content type (multipart uploads) with
// the same retries; mk makes the body afresh for every attempt.
func (c *Client) Post(ctx context.Context, method, contentType string, mk func() ([]byte, error), out any) error {
	for attempt := 0; ; attempt++ {
		raw, err := mk()
		if err != nil {
			return err
		}
		resp, e := c.attempt(ctx, method, contentType, raw)
		if e == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(resp, out); err != nil {
				return &Error{Method: method, Status: 200, Message: "decode response: " + c.redact(err.Error())}
			}
			return nil
		}
		if err := c.backoff(ctx, attempt, e); err != nil {
			return err
		}
	}
}

// Download posts a JSON body and hands the raw response body to fn (no retry
// once fn has started reading: the caller restarts the download).
func (c *Client) Download(ctx context.Context, method string, body any, fn func(io.Reader) error) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		req, err := c.request(ctx, method, "application/json", raw)
		if err != nil {
			return err
		}
		c.calls.Add(1)
		resp, err := c.hc.Do(req)
		var e *Error
		if err != nil {
			e = &Error{Method: method, Message: c.redact(err.Error()), Err: err}
		} else if resp.StatusCode != 200 {
			e = c.statusError(method, resp)
		}
		if e == nil {
			err := fn(resp.Body)
			resp.Body.Close()
			if err != nil {
				return &Error{Method: method, Status: 200, Message: c.redact(err.Error()), Err: err}
			}
			return nil
		}
		if err := c.backoff(ctx, attempt, e); err != nil {
			return err
		}
	}
}

// backoff ends a failed attempt: the error to return (cancellation, an error
// not worth retrying, or the last one once the retries are spent), or nil after
// waiting for the next attempt.
func (c *Client) backoff(ctx context.Context, attempt int, e *Error) error {
	e.Attempts = attempt + 1
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !c.retry(e) || attempt >= c.retries {
		e.exhausted = c.retry(e)
		counters.Error()
		return e
	}
	counters.Retry()
	d := c.wait(attempt, e)
	c.logRetry(e.Method, e, attempt, d)
	return sleep(ctx, d)
}

func (c *Client) request(ctx context.Context, method, contentType string, body []byte) (*http.Request, error) {
	c.connecting()
	u := c.base.String() + "/public/api/v3/" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Method: method, Message: err.Error()}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("x-api-key", c.token)
	if c.taskID != "" {
		req.Header.Set("x-task-id", c.taskID)
	}
	return req, nil
}

// attempt sends one request with the per-call timeout.
func (c *Client) attempt(ctx context.Context, method, contentType string, body []byte) ([]byte, *Error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.request(actx, method, contentType, body)
	if err != nil {
		return nil, err.(*Error)
	}
	c.calls.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		msg := c.redact(err.Error())
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			msg = fmt.Sprintf("no response within %s", c.timeout)
		}
		return nil, &Error{Method: method, Message: msg, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, c.statusError(method, resp)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &Error{Method: method, Message: "reading the response: " + c.redact(err.Error()), Err: err}
	}
	return b, nil
}

// statusError reads the server's error body: {"error": ..., "details": {...} | [...]}.
func (c *Client) statusError(method string, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	e := &Error{Method: method, Status: resp.StatusCode}
	var body struct {
		Error   string          `json:"error"`
		Details json.RawMessage `json:"details"`
	}
	if json.Unmarshal(b, &body) == nil && (body.Error != "" || len(body.Details) > 0) {
		e.Message = body.Error
		e.Details = body.Details
		var d struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		}
		raw := body.Details
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			raw = list[0]
		}
		if json.Unmarshal(raw, &d) == nil {
			e.Type = d.Type
			if d.Message != "" && d.Message != e.Message {
				if e.Message != "" {
					e.Message += ": "
				}
				e.Message += d.Message
			}
		}
	} else {
		e.Message = strings.TrimSpace(string(b))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Message = c.redact(e.Message)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.ParseFloat(ra, 64); err == nil {
			e.retryAfter = time.Duration(s * float64(time.Second))
		}
	}
	return e
}

// retry tells whether the SDK would retry this failure.
func (c *Client) retry(e *Error) bool {
	if e.Status == 0 {
		var ne net.Error
		return e.Err != nil && (errors.As(e.Err, &ne) || errors.Is(e.Err, io.ErrUnexpectedEOF) ||
			errors.Is(e.Err, io.EOF) || errors.Is(e.Err, context.DeadlineExceeded) || isConnError(e.Err))
	}
	if e.Status == 400 && strings.Contains(e.Message, agentError) {
		return true
	}
	return retryable[e.Status]
}

func isConnError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) // every transport failure of http.Client.Do
}

// wait is min(base × 2^k, 60 s); for 429 at least Retry-After.
func (c *Client) wait(k int, e *Error) time.Duration {
	d := time.Duration(float64(c.sleep) * math.Pow(2, float64(k)))
	if d > 60*time.Second || d < 0 {
		d = 60 * time.Second
	}
	if e.Status == 429 && e.retryAfter > d {
		d = e.retryAfter
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redact removes the token from text that may echo it.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "***")
}
