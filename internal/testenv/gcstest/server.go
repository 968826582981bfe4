// Package gcstest runs a real Google Cloud Storage emulator for tests:
// fake-gcs-server (its JSON and XML APIs, in memory) on 127.0.0.1 on a free
// port, installed by scripts/setup-tests.sh (like internal/testenv/s3test's
// versitygw). It also reads and writes objects with plain HTTP calls of the
// JSON API, apart from the client library the store uses.
package gcstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Version is the fake-gcs-server release scripts/setup-tests.sh installs.
const Version = "v1.56.1"

// errMissing marks a binary that is not installed (the only reason the tests
// may skip rather than fail).
var errMissing = errors.New("not installed")

// Binary finds fake-gcs-server: $VPIPE_FAKE_GCS, else the setup script's cache.
func Binary() (string, error) {
	p := os.Getenv("VPIPE_FAKE_GCS")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, ".cache", "vpipe-tools", "bin", "fake-gcs-server")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("fake-gcs-server %s not found at %s: run scripts/setup-tests.sh (it installs it there), or set VPIPE_FAKE_GCS: %w", Version, p, errMissing)
	}
	return p, nil
}

// Server is a running fake-gcs-server.
type Server struct {
	Host string // 127.0.0.1:PORT, the value of STORAGE_EMULATOR_HOST
	URL  string // http://127.0.0.1:PORT
	// missing is why there is no server (the binary is not installed and CI
	// is not set): every test that needs it skips, saying so.
	missing error
	cmd     *exec.Cmd
	exited  chan struct{}
	mu      sync.Mutex
	log     bytes.Buffer
	n       atomic.Int64
}

type syncWriter struct{ s *Server }

func (w syncWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(b)
}

// Start runs fake-gcs-server on a free port and waits until it answers.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	s := &Server{Host: addr.String(), URL: "http://" + addr.String(), exited: make(chan struct{})}
	// -public-host is the address the client reads objects from (the XML
	// API's http://HOST/BUCKET/OBJECT); by default the server expects
	// storage.googleapis.com there.
	s.cmd = exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(addr.Port),
		"-public-host", s.Host, "-external-url", s.URL, "-backend", "memory", "-log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = syncWriter{s}, syncWriter{s}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	// Wait for the health check: a readiness poll, not a timed assertion.
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("fake-gcs-server exited before serving: %s", s.Log())
		default:
		}
		if r, err := http.Get(s.URL + "/_internal/healthcheck"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server (its data was in memory).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Freeze stops the server process (SIGSTOP): connections are accepted by the
// kernel but nothing answers. It returns once every thread of the process is
// stopped: the signal is delivered asynchronously, and a request sent in
// between (a small upload on a busy machine) would still be answered.
func (s *Server) Freeze() error {
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	for range 500 { // a readiness poll (at most 5 s), not a timed assertion
		if stopped(s.cmd.Process.Pid) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("fake-gcs-server (pid %d) did not stop on SIGSTOP", s.cmd.Process.Pid)
}

// stopped tells whether every thread of pid is stopped (state T in
// /proc/PID/task/*/stat); true where /proc is not there to tell.
func stopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return true
	}
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended
		}
		// pid (comm) STATE …: comm may hold spaces, the state follows its ")".
		if i := bytes.LastIndexByte(b, ')'); i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// Log is what the server printed (for failures).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// need skips the test when there is no server to run it against.
func (s *Server) need(t testing.TB) {
	t.Helper()
	if s.missing != nil {
		t.Skipf("skipped: %v (under CI this is a failure)", s.missing)
	}
}

// Env points the Google client libraries at the server for the test
// (STORAGE_EMULATOR_HOST: no credentials are looked for).
func (s *Server) Env(t testing.TB) {
	t.Helper()
	s.need(t)
	t.Setenv("STORAGE_EMULATOR_HOST", s.Host)
}

// Bucket creates a new, empty bucket for one test.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	s.need(t)
	name := fmt.Sprintf("t%d-%s", s.n.Add(1), randHex(4))
	body, _ := json.Marshal(map[string]string{"name": name})
	s.call(t, http.MethodPost, "/storage/v1/b?project=vpipe-test", body, http.StatusOK)
	return name
}

// Put stores an object with one media upload (fixtures, a concurrent writer).
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	s.need(t)
	s.call(t, http.MethodPost, "/upload/storage/v1/b/"+url.PathEscape(bucket)+"/o?uploadType=media&name="+url.QueryEscape(key), data, http.StatusOK)
}

// Object reads an object whole; found is false when it is missing.
func (s *Server) Object(t testing.TB, bucket, key string) (data []byte, found bool) {
	t.Helper()
	s.need(t)
	r, err := http.Get(s.URL + "/download/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(key) + "?alt=media")
	if err != nil {
		t.Fatalf("get gs://%s/%s: %v", bucket, key, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	switch {
	case err != nil:
		t.Fatalf("get gs://%s/%s: %v", bucket, key, err)
	case r.StatusCode == http.StatusNotFound:
		return nil, false
	case r.StatusCode != http.StatusOK:
		t.Fatalf("get gs://%s/%s: %s: %s", bucket, key, r.Status, b)
	}
	return b, true
}

// call makes one JSON-API request and wants the status given.
func (s *Server) call(t testing.TB, method, path string, body []byte, want int) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	if b, _ := io.ReadAll(r.Body); r.StatusCode != want {
		t.Fatalf("%s %s: %s: %s", method, path, r.Status, b)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Main starts a server for a package's tests (from TestMain), runs them and
// stops it. When the binary is not installed the tests that need the server
// skip, saying why, unless CI is set (.ci/run sets CI=true): then the
// package fails with the setup hint, so CI never passes on skipped tests.
// Any other failure to start fails.
func Main(m *testing.M, srv **Server) int {
	s, err := ForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gcstest:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}

// ForMain starts a server as Main does, for a TestMain that starts several:
// a binary that is not installed gives (outside CI) a server whose tests
// skip; any other failure is an error.
func ForMain() (*Server, error) {
	s, err := Start()
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, errMissing) || os.Getenv("CI") != "" {
		return nil, err
	}
	fmt.Fprintln(os.Stderr, "gcstest: the tests that need fake-gcs-server skip:", err)
	return &Server{missing: err}, nil
}
