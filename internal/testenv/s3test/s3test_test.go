package s3test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var srv *Server

func TestMain(m *testing.M) { os.Exit(Main(m, &srv)) }

// The server enforces SigV4: a wrong secret is refused.
func TestSignatureEnforced(t *testing.T) {
	b := srv.Bucket(t)
	c := s3.New(s3.Options{Region: srv.Region, BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.Access, "wrong", "")})
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("put with a wrong secret: %v", err)
	}
	if keys := srv.Keys(t, b, ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}

// Through the proxy: bytes are counted, a SlowDown burst is retried by the
// SDK, a reset mid-GET is seen by the reader.
func TestProxy(t *testing.T) {
	b := srv.Bucket(t)
	data := bytes.Repeat([]byte("0123456789"), 10000)
	srv.Put(t, b, "obj", data)
	p := NewProxy(srv.Endpoint)
	defer p.Close()
	var n atomic.Int32
	p.Rule = func(r *http.Request) Fault {
		if n.Add(1) <= 2 {
			return SlowDown
		}
		return Pass
	}
	c := srv.ClientAt(p.URL)
	ctx := context.Background()
	o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o.Body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if r := p.BytesRead(b, "obj"); r != int64(len(data)) {
		t.Fatalf("proxy counted %d bytes, want %d", r, len(data))
	}
	p.Rule = func(*http.Request) Fault { return Reset }
	o, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(o.Body)
	if err == nil || len(got) >= len(data) {
		t.Fatalf("a reset mid-object read %d bytes with no error", len(got))
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("cut"), Body: bytes.NewReader(data)},
		func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("a PUT cut halfway succeeded")
	}
	if keys := srv.Keys(t, b, "cut"); len(keys) != 0 {
		t.Fatalf("a cut PUT left %v", keys)
	}
}
