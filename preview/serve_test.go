package preview_test

import (
	"bytes"
	"context"
	"image/color"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/preview"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// serveSite serves a site on 127.0.0.1 (preview.Serve, as --serve does) for
// the test; it returns the address and the server's log.
func serveSite(t *testing.T, root, site string) (string, *bytes.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- preview.Serve(ctx, ln, preview.Handler(localstore.New(root), site, lg)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), &log
}

// get asks addr for path with the Host header host ("" = addr's own).
func get(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestPreviewServeHostCheck: served on a loopback address, the site answers
// only requests for a loopback name (a page of another site whose name was
// rebound to 127.0.0.1 cannot read the images); a store's error is logged,
// and the client gets a bare 500.
func TestPreviewServeHostCheck(t *testing.T) {
	d := newDataset(t)
	d.image([]string{"ds0", "a.mp4"}, "a.mp4_frame_0.png", pngOf(20, 10, color.NRGBA{200, 200, 200, 255}), 20, 10, "", "", nil)
	site := filepath.Join(t.TempDir(), "site")
	build(t, d.root, site)
	// an image key that cannot be read: a folder where the file would be
	if err := os.MkdirAll(filepath.Join(d.root, "ds0/datasets/a.mp4/img/broken.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr, log := serveSite(t, d.root, site)
	_, port, _ := net.SplitHostPort(addr)
	img := "/dataset/ds0/datasets/a.mp4/img/a.mp4_frame_0.png"
	for _, c := range []struct {
		host string
		want int
	}{
		{"", 200},
		{"localhost:" + port, 200},
		{"localhost", 200},
		{"127.0.0.1:" + port, 200},
		{"127.0.0.2:" + port, 200},
		{"[::1]:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"evil.example:" + port, 403},
		{"evil.example", 403},
		{"localhost.evil.example:" + port, 403},
		{"10.0.0.1:" + port, 403},
	} {
		for _, p := range []string{"/index.html", img, "/serve.js"} {
			if code, _ := get(t, addr, c.host, p); code != c.want {
				t.Errorf("Host %q, %s: %d, want %d", c.host, p, code, c.want)
			}
		}
	}
	code, body := get(t, addr, "", "/dataset/ds0/datasets/a.mp4/img/broken.png")
	if code != 500 || strings.Contains(body, "directory") || strings.Contains(body, d.root) {
		t.Errorf("a store error: %d %q, want 500 with no detail", code, body)
	}
	if !strings.Contains(log.String(), "broken.png") {
		t.Errorf("the store error is not logged:\n%s", log)
	}
}

// TestPreviewServeOtherHost: served on every address (not loopback), any
// Host is answered: the server is meant to be reached by other names.
func TestPreviewServeOtherHost(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("no wildcard listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	go preview.Serve(ctx, ln, preview.Handler(localstore.New(t.TempDir()), site, nil))
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if code, _ := get(t, "127.0.0.1:"+port, "preview.lan:"+port, "/index.html"); code != 200 {
		t.Errorf("a served-everywhere site refused Host preview.lan: %d", code)
	}
}
