package s3conn_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
)

var srv *s3test.Server

func TestMain(m *testing.M) { os.Exit(s3test.Main(m, &srv)) }

// client is s3conn's client for s3://bucket/p through endpoint, with the
// credentials of the environment (srv.Env).
func client(t *testing.T, bucket, endpoint string, attempts int, timeout time.Duration) *s3conn.Client {
	t.Helper()
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://" + bucket + "/p", Endpoint: endpoint, PathStyle: true,
		MaxAttempts: attempts, MaxBackoff: 50 * time.Millisecond, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(c *s3conn.Client, key string, data []byte) error {
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(c.Loc.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
	if err != nil {
		return c.Err("PutObject", key, err)
	}
	return nil
}

// A server that takes the connection and never answers (stopped) makes each
// attempt give up after the timeout without progress; after the attempts the
// call fails naming the object and saying what happened.
func TestFrozenServerGivesUp(t *testing.T) {
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodPut {
			return s3test.Freeze
		}
		return s3test.Pass
	}
	srv.Env(t)
	c := client(t, bucket, p.URL, 2, 500*time.Millisecond)
	err := put(c, "p/a.png", []byte("image"))
	if err == nil {
		t.Fatal("a PUT to a frozen server succeeded")
	}
	msg := err.Error()
	for _, w := range []string{"PutObject s3://" + bucket + "/p/a.png", "no answer", "500ms", "2 attempts"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in %q", w, msg)
		}
	}
	if n := p.Frozen(); n != 2 {
		t.Errorf("%d requests reached the frozen server, want one an attempt (2)", n)
	}
	t.Log(msg)
}

// An upload slower than the timeout in total, but always making progress
// (the server takes its body slowly), is not cut: one attempt, stored whole.
func TestSlowUploadNotCut(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("off Linux the bytes the server's TCP stack acknowledged are not known: an upload whose body is all in the kernel's buffers may be cut")
	}
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodPut {
			return s3test.Trickle
		}
		return s3test.Pass
	}
	const timeout = time.Second
	data := make([]byte, 768<<10)
	rand.Read(data)
	// The proxy takes TrickleChunk bytes every TrickleEvery: the whole body
	// takes several timeouts.
	if total := time.Duration(len(data)/s3test.TrickleChunk) * s3test.TrickleEvery; total < 3*timeout {
		t.Fatalf("the upload would take %s, not several timeouts", total)
	}
	srv.Env(t)
	c := client(t, bucket, p.URL, 1, timeout)
	if err := put(c, "p/big.png", data); err != nil {
		t.Fatalf("a slow upload that makes progress was cut: %v", err)
	}
	if got := srv.Tree(t, bucket, "p")["big.png"]; !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want the %d sent", len(got), len(data))
	}
}

// An endpoint with credentials in it is refused without echoing them.
func TestEndpointWithCredentialsRefused(t *testing.T) {
	srv.Env(t)
	_, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://b/p", Endpoint: "http://AKID:hush-secret@127.0.0.1:9"})
	if err == nil || strings.Contains(err.Error(), "hush-secret") || strings.Contains(err.Error(), "AKID") ||
		!strings.Contains(err.Error(), "credentials") {
		t.Fatalf("got %v", err)
	}
}

// With no credentials anywhere (no variables, no files, no instance role),
// the first call says so, naming the bucket and the ways to give some.
func TestNoCredentials(t *testing.T) {
	bucket := srv.Bucket(t)
	srv.Env(t)
	home := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", home)
	c := client(t, bucket, srv.Endpoint, 2, time.Second)
	err := put(c, "p/a.png", []byte("x"))
	if err == nil {
		t.Fatal("a PUT without credentials succeeded")
	}
	msg := err.Error()
	for _, w := range []string{"AWS credentials for bucket ", "bucket " + bucket, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
		"~/.aws/credentials", "instance"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in %q", w, msg)
		}
	}
	t.Log(msg)
}

// Once a call got no answer on its attempts, the next calls to that server
// fail at once, naming it, when it stopped answering and the object of the
// call; after the cool-down a call gets a single attempt; once the server
// answers again, calls are made as before.
func TestStoppedServerBreaker(t *testing.T) {
	bucket := srv.Bucket(t)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	var frozen atomic.Bool
	frozen.Store(true)
	p.Rule = func(r *http.Request) s3test.Fault {
		if frozen.Load() {
			return s3test.Freeze
		}
		return s3test.Pass
	}
	srv.Env(t)
	const cool = 300 * time.Millisecond
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://" + bucket + "/p", Endpoint: p.URL, PathStyle: true,
		MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond, Timeout: 300 * time.Millisecond, Cooldown: cool})
	if err != nil {
		t.Fatal(err)
	}
	err = put(c, "p/a.png", []byte("a"))
	if err == nil || !strings.Contains(err.Error(), "on each of its 3 attempts") || p.Frozen() != 3 {
		t.Fatalf("first call: %d attempts reached the server, err %v", p.Frozen(), err)
	}
	err = put(c, "p/b.png", []byte("b"))
	var de *s3conn.DownError
	if !errors.As(err, &de) || p.Frozen() != 3 {
		t.Fatalf("second call: %d attempts in all, err %v; want none more and a DownError", p.Frozen(), err)
	}
	for _, w := range []string{"PutObject s3://" + bucket + "/p/b.png", p.URL, "stopped answering at " + de.At.Format("15:04:05"), "PutObject got no answer"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %q", w, err)
		}
	}
	time.Sleep(cool + 50*time.Millisecond) // past the cool-down: one attempt
	if err := put(c, "p/c.png", []byte("c")); err == nil || !strings.Contains(err.Error(), "on its one attempt") || p.Frozen() != 4 {
		t.Fatalf("a call after the cool-down: %d attempts in all, err %v; want one more", p.Frozen(), err)
	}
	frozen.Store(false)
	time.Sleep(cool + 50*time.Millisecond)
	if err := put(c, "p/d.png", []byte("d")); err != nil {
		t.Fatalf("the server answers again: %v", err)
	}
	frozen.Store(true) // closed again: the whole budget
	if err := put(c, "p/e.png", []byte("e")); err == nil || p.Frozen() != 7 {
		t.Fatalf("after an answered call: %d attempts in all, want 3 more; err %v", p.Frozen(), err)
	}
	t.Log(err)
}
