// Package natstest runs a real NATS server for tests: nats-server with
// JetStream on 127.0.0.1 on a free port and a temporary store, installed by
// scripts/setup-tests.sh (like internal/testenv/s3test's versitygw).
package natstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Version is the nats-server release scripts/setup-tests.sh installs.
const Version = "v2.15.2"

// Binary finds nats-server: $VPIPE_NATS_SERVER, else the setup script's cache.
func Binary() (string, error) {
	p := os.Getenv("VPIPE_NATS_SERVER")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, ".cache", "vpipe-tools", "bin", "nats-server")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("nats-server %s not found at %s: run scripts/setup-tests.sh (it installs it there), or set VPIPE_NATS_SERVER", Version, p)
	}
	return p, nil
}

// Server is a running nats-server.
type Server struct {
	URL    string // nats://127.0.0.1:PORT
	dir    string
	bin    string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
}

type syncWriter struct{ s *Server }

func (w syncWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(b)
}

// Start runs nats-server with JetStream on a free port and waits until it
// answers.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vpipe-nats-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	s := &Server{URL: fmt.Sprintf("nats://127.0.0.1:%d", addr.Port), dir: dir, bin: bin, addr: addr.String()}
	if err := s.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// run starts the server process and waits until it serves.
func (s *Server) run() error {
	_, port, _ := net.SplitHostPort(s.addr)
	s.exited = make(chan struct{})
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", port, "-js", "-sd", filepath.Join(s.dir, "store"))
	s.cmd.Stdout, s.cmd.Stderr = syncWriter{s}, syncWriter{s}
	ready := bytes.Count([]byte(s.Log()), []byte("Server is ready")) + 1
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := s.exited
	go func() { s.cmd.Wait(); close(exited) }()
	// Ready once it logs so (JetStream's store is set up before that line);
	// a readiness poll, not a timed assertion.
	for {
		select {
		case <-exited:
			return fmt.Errorf("nats-server exited before serving: %s", s.Log())
		default:
		}
		if bytes.Count([]byte(s.Log()), []byte("Server is ready")) >= ready {
			if c, err := net.Dial("tcp", s.addr); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Crash kills the server (SIGKILL), keeping its store.
func (s *Server) Crash() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Restart starts the server again on the same port and store (after Crash).
func (s *Server) Restart() error { return s.run() }

// Stop ends the server and removes its store.
func (s *Server) Stop() {
	s.Crash()
	os.RemoveAll(s.dir)
}

// Log is what the server printed (for failures).
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Main starts a server for a package's tests (from TestMain), runs them and
// stops it. A missing binary fails the package with the setup hint.
func Main(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "natstest:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}
