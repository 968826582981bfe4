// Package s3test runs a real S3 server for tests: versitygw (posix backend,
// SigV4 enforced) on 127.0.0.1 on a free port, installed by scripts/setup-tests.sh.
// It also gives an independent client (the SDK's raw calls, not vpipe's sink or
// source code) to read what was stored, and a fault-injecting proxy.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"

	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Version is the versitygw release scripts/setup-tests.sh installs.
const Version = "v1.8.0"

// Binary finds versitygw: $VPIPE_VERSITYGW, else the setup script's cache.
func Binary() (string, error) {
	p := os.Getenv("VPIPE_VERSITYGW")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, ".cache", "vpipe-tools", "bin", "versitygw")
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", fmt.Errorf("versitygw %s not found at %s: run scripts/setup-tests.sh (it installs it there), or set VPIPE_VERSITYGW", Version, p)
	}
	return p, nil
}

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Access   string
	Secret   string
	Region   string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *bytes.Buffer
	n        atomic.Int64
}

// Start runs versitygw on a free port with fresh random root credentials and
// waits until it answers.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vpipe-s3-")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{Endpoint: "http://" + addr, Access: "AK" + randHex(8), Secret: randHex(20), Region: "us-east-1",
		dir: dir, exited: make(chan struct{}), log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "--port", addr, "--region", s.Region, "--quiet", "posix", data)
	// The root credentials go by environment, not argv, so no process list shows them.
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.Access, "ROOT_SECRET_ACCESS_KEY="+s.Secret)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	// Wait for the port: a readiness poll, not a timed assertion.
	for {
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("versitygw exited before serving: %s", s.log.String())
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server and removes its data.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// Freeze stops the server process (SIGSTOP): the kernel still accepts
// connections and takes in bytes until its buffers fill, but nothing answers.
func (s *Server) Freeze() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// Env sets the standard AWS variables to the server's credentials for the test.
func (s *Server) Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.Access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.Secret)
	t.Setenv("AWS_REGION", s.Region)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Client is an independent client (raw SDK calls, static credentials, path style).
func (s *Server) Client() *s3.Client { return s.ClientAt(s.Endpoint) }

// ClientAt is Client aimed at another endpoint (a proxy).
func (s *Server) ClientAt(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.Access, s.Secret, ""),
	})
}

// Bucket creates a new, empty bucket for one test.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", s.n.Add(1), randHex(4))
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// Put stores an object (test fixtures).
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Upload copies a local folder to bucket/prefix (fixtures).
func (s *Server) Upload(t testing.TB, dir, bucket, prefix string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if prefix != "" {
			key = prefix + "/" + key
		}
		s.Put(t, bucket, key, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Keys lists every key under prefix (all pages).
func (s *Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	keys, err := ListKeys(context.Background(), s.Client(), bucket, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// stagedUpload tells versitygw's own staging files apart from objects: its
// posix backend writes an upload to ".<name>.sgwtmp.<n>" beside the target and
// renames it, and a listing made meanwhile can return that name (a GET of it
// then finds nothing). No client wrote such a key, so the tests never count it.
func stagedUpload(key string) bool {
	base := key[strings.LastIndex(key, "/")+1:]
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".sgwtmp.")
}

// ListKeys lists every key under prefix with raw ListObjectsV2 calls, leaving
// out the server's staging files (stagedUpload).
func ListKeys(ctx context.Context, c *s3.Client, bucket, prefix string) ([]string, error) {
	var keys []string
	var token *string
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); !stagedUpload(k) {
				keys = append(keys, k)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return keys, nil
		}
		token = out.NextContinuationToken
	}
}

// Tree reads every object under prefix: key relative to prefix → bytes.
func (s *Server) Tree(t testing.TB, bucket, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	p := prefix
	if p != "" {
		p += "/"
	}
	out := map[string][]byte{}
	for _, k := range s.Keys(t, bucket, p) {
		o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get s3://%s/%s: %v", bucket, k, err)
		}
		b, err := io.ReadAll(o.Body)
		o.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(k, p)] = b
	}
	return out
}

// Log is what the server printed (for failures).
func (s *Server) Log() string { return s.log.String() }

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Main starts a server for a package's tests (from TestMain), runs them and
// stops it. A missing binary fails the package with the setup hint.
func Main(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}
