package preview

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/vpipe/vpipe/store"
)

// servedImages is where Handler gives the project's images.
const servedImages = "dataset/"

// Handler serves the site folder dir, and the project's images from st under
// /dataset/ (so the full view works over HTTP whatever the store: a relative
// link out of the folder cannot be followed through a server, and a bucket
// has none). Only images are served from the store, not annotations or other
// keys. A store's error is logged (nil log: nowhere) and answered with a bare
// 500: its text (paths, bucket names, endpoints) is not the client's.
func Handler(st store.Store, dir string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/serve.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(serveJS(servedImages)))
		case strings.HasPrefix(p, "/"+servedImages):
			serveImage(w, r, st, strings.TrimPrefix(p, "/"+servedImages), log)
		default:
			files.ServeHTTP(w, r)
		}
	})
}

func serveImage(w http.ResponseWriter, r *http.Request, st store.Store, key string, log *slog.Logger) {
	if _, _, kind, _, ok := splitKey(key); !ok || kind != "img" || path.Clean("/"+key) != "/"+key {
		http.NotFound(w, r)
		return
	}
	data, found, err := st.Get(r.Context(), key)
	switch {
	case err != nil:
		log.Error("preview: serving an image", "image", st.Name(key), "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	case !found:
		http.NotFound(w, r)
	default:
		http.ServeContent(w, r, path.Base(key), time.Time{}, bytes.NewReader(data))
	}
}

// loopbackOnly refuses (403) a request whose Host is not a loopback name or
// address: a site served on 127.0.0.1 is then out of reach of DNS rebinding
// (a page of evil.example, its name rebound to 127.0.0.1, would otherwise
// read the site and the project's images as same-origin).
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "403 forbidden: this preview answers to localhost, 127.0.0.1 and [::1] only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackHost tells whether a Host header (with or without a port) names
// this machine's loopback: localhost, or a loopback IP.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr tells whether a listener is bound to a loopback address only.
func loopbackAddr(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// Addr completes a --serve address: a bare port is on 127.0.0.1, so the site
// is offered to other machines only when a host (or ":PORT") says so.
func Addr(addr string) string {
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	return addr
}

// Serve serves h on ln until ctx ends, then stops within a few seconds. On a
// loopback address it answers only requests for a loopback Host.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if loopbackAddr(ln.Addr()) {
		h = loopbackOnly(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
