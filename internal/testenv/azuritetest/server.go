// Package azuritetest runs a real Azure Blob service for tests: Azurite's blob
// server (the npm package azurite, run by node) on 127.0.0.1 on a free port,
// its data in a temporary folder, installed by scripts/setup-tests.sh. The
// code under test reaches it as the emulator's well-known development account
// through AZURE_STORAGE_CONNECTION_STRING (Env); the package also gives an
// independent client (the SDK's raw calls) to make containers and fixtures,
// and a fault-injecting proxy.
package azuritetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

// Version is the azurite release scripts/setup-tests.sh installs.
const Version = "3.37.0"

// The emulator's development account, published in Azurite's documentation;
// it opens nothing but a local emulator.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Binary finds azurite-blob: $VPIPE_AZURITE, else the setup script's cache.
func Binary() (string, error) {
	p := os.Getenv("VPIPE_AZURITE")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, ".cache", "vpipe-tools", "bin", "azurite-blob")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("azurite-blob (npm azurite %s) not found at %s: run scripts/setup-tests.sh (it installs it there with npm), or set VPIPE_AZURITE", Version, p)
	}
	return p, nil
}

// Server is a running Azurite blob service; a Server whose binary is missing
// (Missing) skips every test that uses it.
type Server struct {
	// Endpoint is the service URL of the account: http://127.0.0.1:PORT/devstoreaccount1.
	Endpoint string
	Missing  error
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	mu       sync.Mutex
	log      bytes.Buffer
	n        atomic.Int64
}

type syncWriter struct{ s *Server }

func (w syncWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(b)
}

// Start runs azurite-blob on a free port and waits until it listens.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vpipe-azurite-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), dir: dir, exited: make(chan struct{})}
	// --skipApiVersionCheck: the SDK may speak a newer API version than the
	// emulator knows; --loose: headers it does not implement are ignored, not
	// refused; --silent: no access log; no telemetry leaves the machine.
	s.cmd = exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", dir,
		"--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")
	s.cmd.Stdout, s.cmd.Stderr = syncWriter{s}, syncWriter{s}
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	// Ready once it says it listens and the port answers: a readiness poll,
	// not a timed assertion.
	for {
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("azurite-blob exited before serving: %s", s.Log())
		default:
		}
		if bytes.Contains([]byte(s.Log()), []byte("successfully listens")) {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server and removes its data.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// Log is what the server printed (for failures).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// need skips the test when the server could not be found, outside CI; under
// CI (CI set) that fails it.
func (s *Server) need(t testing.TB) {
	t.Helper()
	switch {
	case s.Missing == nil:
	case os.Getenv("CI") != "":
		t.Fatalf("Azurite is needed under CI: %v", s.Missing)
	default:
		t.Skipf("skipped, Azurite is not installed: %v", s.Missing)
	}
}

// ConnString is the development account's connection string at endpoint (a
// service URL: the server's, or a proxy's).
func ConnString(endpoint string) string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key + ";BlobEndpoint=" + endpoint + ";"
}

// Env gives the code under test the account, as a connection string, for the
// test; the other variables of the credential chain are cleared.
func (s *Server) Env(t testing.TB) {
	s.need(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", ConnString(s.Endpoint))
	t.Setenv("AZURE_STORAGE_ACCOUNT", "")
	t.Setenv("AZURE_STORAGE_KEY", "")
}

// Client is an independent client of one container (raw SDK calls).
func (s *Server) Client(t testing.TB, name string) *container.Client {
	t.Helper()
	s.need(t)
	c, err := container.NewClientFromConnectionString(ConnString(s.Endpoint), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Container creates a new, empty container for one test.
func (s *Server) Container(t testing.TB) string {
	t.Helper()
	s.need(t)
	name := fmt.Sprintf("t%d-%s", s.n.Add(1), randHex(4))
	if _, err := s.Client(t, name).Create(context.Background(), nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	return name
}

// Put stores a blob (test fixtures).
func (s *Server) Put(t testing.TB, ctr, name string, data []byte) {
	t.Helper()
	if _, err := s.Client(t, ctr).NewBlockBlobClient(name).UploadBuffer(context.Background(), data, nil); err != nil {
		t.Fatalf("put azblob://%s/%s: %v", ctr, name, err)
	}
}

// Faults is a proxy before the server that refuses (503) or cuts halfway the
// uploads of the blobs a test names.
type Faults struct {
	// Endpoint is the account's service URL through the proxy.
	Endpoint string
	px       *s3test.Proxy
	mu       sync.Mutex
	rules    map[string]s3test.Fault // by request path: /account/container/blob
	under    map[string]s3test.Fault // by request path prefix (a folder)
	ctr, pre string
}

// NewFaults starts a proxy for blobs under ctr/prefix, stopped with the test.
func (s *Server) NewFaults(t testing.TB, ctr, prefix string) *Faults {
	s.need(t)
	f := &Faults{px: s3test.NewProxy(s.Endpoint), rules: map[string]s3test.Fault{}, under: map[string]s3test.Fault{}, ctr: ctr, pre: prefix}
	t.Cleanup(f.px.Close)
	f.Endpoint = f.px.URL + "/" + Account
	f.px.Rule = func(r *http.Request) s3test.Fault {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method != http.MethodPut {
			return s3test.Pass
		}
		if fault, ok := f.rules[r.URL.Path]; ok {
			return fault
		}
		for p, fault := range f.under {
			if strings.HasPrefix(r.URL.Path, p) {
				return fault
			}
		}
		return s3test.Pass
	}
	return f
}

// Block makes every upload of key (under the prefix) answer 503 until unblocked.
func (f *Faults) Block(_ *testing.T, key string) func() { return f.set(key, s3test.SlowDown) }

// Cut makes every upload of key reset halfway until restored.
func (f *Faults) Cut(_ *testing.T, key string) func() { return f.set(key, s3test.Reset) }

// Freeze makes every upload of key get no answer at all until thawed.
func (f *Faults) Freeze(_ *testing.T, key string) func() { return f.set(key, s3test.Freeze) }

// BlockUnder makes every upload of a blob under the folder dir (a key
// prefix, ending in /) answer 503 until unblocked.
func (f *Faults) BlockUnder(_ *testing.T, dir string) func() {
	return f.setIn(f.under, dir, s3test.SlowDown)
}

func (f *Faults) set(key string, fault s3test.Fault) func() { return f.setIn(f.rules, key, fault) }

func (f *Faults) setIn(rules map[string]s3test.Fault, key string, fault s3test.Fault) func() {
	p := "/" + Account + "/" + f.ctr + "/" + key
	if f.pre != "" {
		p = "/" + Account + "/" + f.ctr + "/" + f.pre + "/" + key
	}
	f.mu.Lock()
	rules[p] = fault
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(rules, p)
		f.mu.Unlock()
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
// stops it. A missing Azurite fails the package with the setup hint under CI
// (CI set), and elsewhere lets the tests run and skip, saying why.
func Main(m *testing.M, srv **Server) int {
	s, err := ForMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "azuritetest:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}

// ForMain starts a server as Main does, for a TestMain that starts several:
// Azurite not installed gives (outside CI) a server whose tests skip; any
// other failure is an error.
func ForMain() (*Server, error) {
	s, err := Start()
	if err == nil {
		return s, nil
	}
	if _, missing := Binary(); missing == nil || os.Getenv("CI") != "" {
		return nil, err
	}
	return &Server{Missing: err}, nil
}
