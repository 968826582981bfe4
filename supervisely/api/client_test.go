package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/metrics"
	"github.com/vpipe/vpipe/supervisely/api"
)

const token = "tok-9f8e7d6c5b4a"

func client(t *testing.T, server string, retries int) *api.Client {
	t.Helper()
	c, err := api.New(api.Options{Server: server, Token: token, Retries: retries, RetrySleep: time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPagination: a list longer than a page comes back whole, in id order, with
// the SDK's page/per_page requests.
func TestPagination(t *testing.T) {
	s := svtest.New(token, 2)
	defer s.Close()
	for i := 0; i < 5; i++ {
		s.AddProject(7, fmt.Sprintf("p%d", i), "videos", nil)
	}
	c := client(t, s.URL(), 0)
	ps, err := c.Projects(context.Background(), 7, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 5 || ps[0].Name != "p0" || ps[4].Name != "p4" {
		t.Fatalf("%+v", ps)
	}
	if n := s.Calls()["projects.list"]; n != 3 {
		t.Fatalf("%d projects.list calls for 5 projects in pages of 2, want 3", n)
	}
	one, err := c.Projects(context.Background(), 7, "p3")
	if err != nil || len(one) != 1 || one[0].Name != "p3" {
		t.Fatalf("name filter: %+v %v", one, err)
	}
}

// TestRetries: bursts of 5xx/429 are retried to success; beyond the budget the
// error names the method, the status and the server's message, never the token.
func TestRetries(t *testing.T) {
	s := svtest.New(token, 3)
	defer s.Close()
	p := s.AddProject(7, "src", "videos", nil)
	s.SetFaults(svtest.Faults{FailRate: 0.4, MaxBurst: 3, Seed: 3})
	c := client(t, s.URL(), 10)
	before := metrics.IO()
	for i := 0; i < 30; i++ {
		if _, err := c.ProjectInfo(context.Background(), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	n := s.Calls()["projects.info"]
	if n <= 30 {
		t.Fatalf("no failures were injected (%d calls)", n)
	}
	// every failed attempt was retried and counted (vpipe_retries_total{client="supervisely"})
	if d := metrics.IO().Since(before); d.Retries["supervisely"] != int64(n-30) || d.Errors["supervisely"] != 0 {
		t.Errorf("%d calls for 30 answers, counted %+v", n, d)
	}
	s.SetFaults(svtest.Faults{Fail: map[string]int{"projects.info": 3}})
	_, err := client(t, s.URL(), 2).ProjectInfo(context.Background(), p.ID)
	var e *api.Error
	if !errors.As(err, &e) || e.Method != "projects.info" || e.Status != 503 || e.Attempts != 3 ||
		!strings.Contains(err.Error(), "supervisely projects.info: HTTP 503: injected failure: service unavailable") ||
		!strings.Contains(err.Error(), "retry limit exceeded") || strings.Contains(err.Error(), token) {
		t.Fatalf("%v", err)
	}
	// not retried: a 404, and a wrong token
	_, err = c.ProjectInfo(context.Background(), 999999)
	if !api.IsNotFound(err) || !strings.Contains(err.Error(), "HTTP 404: project not found") {
		t.Fatalf("%v", err)
	}
	bad, _ := api.New(api.Options{Server: s.URL(), Token: "wrong", RetrySleep: time.Millisecond})
	_, err = bad.ProjectInfo(context.Background(), p.ID)
	if !errors.As(err, &e) || e.Status != 401 || e.Attempts != 1 {
		t.Fatalf("%v", err)
	}
	// the three calls that failed for good: out of retries (2 more), a 404, a 401
	if d := metrics.IO().Since(before); d.Retries["supervisely"] != int64(n-30+2) || d.Errors["supervisely"] != 3 {
		t.Errorf("counted %+v", d)
	}
}

// TestRetryAfter: a 429 waits at least Retry-After (the context deadline shows it
// was honoured without timing the test: a 1-hour Retry-After outlasts it).
func TestRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := client(t, srv.URL, 5).Call(ctx, "projects.info", map[string]any{"id": 1}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || n.Load() != 1 {
		t.Fatalf("%v after %d calls", err, n.Load())
	}
}

// TestLostResponse: a call the server applied but whose answer was lost is
// retried; a second projects.add then meets the name it created (NONUNIQUE).
func TestLostResponse(t *testing.T) {
	s := svtest.New(token, 3)
	defer s.Close()
	s.SetFaults(svtest.Faults{Lose: map[string]int{"projects.add": 1}})
	c := client(t, s.URL(), 3)
	_, err := c.CreateProject(context.Background(), 7, "x(images)", "d", nil)
	if !api.IsNonUnique(err) || len(s.Projects()) != 1 {
		t.Fatalf("%v, %d projects", err, len(s.Projects()))
	}
}

func TestServerAddress(t *testing.T) {
	for in, want := range map[string]string{"app.example.com/": "http://app.example.com", "https://x.io//": "https://x.io"} {
		u, err := api.NormalizeServer(in)
		if err != nil || u.String() != want {
			t.Errorf("%q: %v %v", in, u, err)
		}
	}
	env := map[string]string{"SERVER_ADDRESS": "a.io", "SUPERVISELY_API_SERVER_ADDRESS": "b.io", "API_TOKEN": "t"}
	o := api.FromEnv(api.Options{}, func(k string) string { return env[k] })
	if o.Server != "b.io" || o.Token != "t" {
		t.Fatalf("%+v", o)
	}
	if o := api.FromEnv(api.Options{Server: "c.io", Token: "from config"}, func(k string) string { return env[k] }); o.Server != "c.io" || o.Token != "t" {
		t.Fatalf("%+v", o)
	}
}

// TestKeyStaysHome: a redirect to another host is followed without the key;
// the storage URL is rewritten to the configured server.
func TestKeyStaysHome(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "" {
			leaked.Add(1)
		}
		w.Write([]byte(`{"id": 1}`))
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer home.Close()
	c := client(t, home.URL, 0)
	var out struct{ ID int }
	if err := c.Call(context.Background(), "projects.info", map[string]any{"id": 1}, &out); err != nil || out.ID != 1 {
		t.Fatalf("%v %+v", err, out)
	}
	if leaked.Load() != 0 {
		t.Fatal("the key was sent to another host")
	}
	u, err := c.StorageURL("https://storage.example.com:9000/videos/1/a.mp4?x=1")
	if err != nil || u != home.URL+"/videos/1/a.mp4?x=1" {
		t.Fatalf("%s %v", u, err)
	}
}

// logged makes a client whose log lines go to the returned buffer.
func logged(t *testing.T, server string, retries int) (*api.Client, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	c, err := api.New(api.Options{Server: server, Token: token, Retries: retries, RetrySleep: time.Millisecond,
		Timeout: 5 * time.Second, Log: slog.New(slog.NewTextHandler(&b, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return c, &b
}

// checkRetryLines: one WARN line per retried attempt, each naming the call,
// the error, attempt k of n and the wait before the next; the token nowhere.
func checkRetryLines(t *testing.T, log, call, errText string, retried, attempts int) {
	t.Helper()
	var warns []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") {
			warns = append(warns, l)
		}
	}
	if len(warns) != retried {
		t.Fatalf("%d WARN lines for %d retries:\n%s", len(warns), retried, log)
	}
	for k, l := range warns {
		for _, w := range []string{"call=" + call, fmt.Sprintf("attempt=%d/%d", k+1, attempts), "next_wait=", errText} {
			if !strings.Contains(l, w) {
				t.Errorf("WARN line %d lacks %q: %s", k+1, w, l)
			}
		}
	}
	if strings.Contains(log, token) {
		t.Fatalf("the token is in the log:\n%s", log)
	}
}

// TestRetriesLogged: a server that refuses connections is not retried in
// silence: the client says where it connects (INFO), then logs each retried
// attempt (WARN) before giving up with the transport's error.
func TestRetriesLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c, log := logged(t, addr, 3)
	_, err = c.ProjectInfo(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "retry limit exceeded: 4 attempts") {
		t.Fatalf("%v", err)
	}
	t.Logf("log:\n%s", log)
	if !strings.Contains(log.String(), "level=INFO") || !strings.Contains(log.String(), "server="+addr) {
		t.Fatalf("no INFO line naming the server %s:\n%s", addr, log)
	}
	checkRetryLines(t, log.String(), "projects.info", "connection refused", 3, 4)
}

// TestRetriesLogged503: the fake server answers 503 twice, then the call
// succeeds: two WARN lines, no error.
func TestRetriesLogged503(t *testing.T) {
	s := svtest.New(token, 3)
	defer s.Close()
	p := s.AddProject(7, "src", "videos", nil)
	s.SetFaults(svtest.Faults{Fail: map[string]int{"projects.info": 2}})
	c, log := logged(t, s.URL(), 5)
	if _, err := c.ProjectInfo(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	checkRetryLines(t, log.String(), "projects.info", "HTTP 503", 2, 6)
	if n := s.Calls()["projects.info"]; n != 3 {
		t.Fatalf("%d calls", n)
	}
}
