package azuritetest

import (
	"context"
	"io"
	"net"
	"net/url"
	"testing"
)

// The server starts, keeps a blob put in a new container, and is gone after
// Stop.
func TestStartStop(t *testing.T) {
	if _, err := Binary(); err != nil {
		(&Server{Missing: err}).need(t)
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	ctr := s.Container(t)
	s.Put(t, ctr, "a/b.txt", []byte("hello"))
	resp, err := s.Client(t, ctr).NewBlobClient("a/b.txt").DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "hello" {
		t.Fatalf("read back %q: %v", b, err)
	}
	u, _ := url.Parse(s.Endpoint)
	s.Stop()
	if c, err := net.Dial("tcp", u.Host); err == nil {
		c.Close()
		t.Fatal("still answering after Stop")
	}
}
