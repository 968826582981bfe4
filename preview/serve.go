package preview

import (
	"bytes"
	"context"
	"errors"
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
// keys.
func Handler(st store.Store, dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/serve.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(serveJS(servedImages)))
		case strings.HasPrefix(p, "/"+servedImages):
			serveImage(w, r, st, strings.TrimPrefix(p, "/"+servedImages))
		default:
			files.ServeHTTP(w, r)
		}
	})
}

func serveImage(w http.ResponseWriter, r *http.Request, st store.Store, key string) {
	if _, _, kind, _, ok := splitKey(key); !ok || kind != "img" || path.Clean("/"+key) != "/"+key {
		http.NotFound(w, r)
		return
	}
	data, found, err := st.Get(r.Context(), key)
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadGateway)
	case !found:
		http.NotFound(w, r)
	default:
		http.ServeContent(w, r, path.Base(key), time.Time{}, bytes.NewReader(data))
	}
}

// Addr completes a --serve address: a bare port is on 127.0.0.1, so the site
// is offered to other machines only when a host (or ":PORT") says so.
func Addr(addr string) string {
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	return addr
}

// Serve serves h on ln until ctx ends, then stops within a few seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
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
