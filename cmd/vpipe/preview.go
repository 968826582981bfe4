package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpipe/vpipe/preview"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
)

func previewCmd() *cobra.Command {
	var out, serve string
	var o preview.Options
	cmd := &cobra.Command{
		Use:   "preview DATASET [-o DIR] [--serve ADDR]",
		Short: "Make a static gallery of an image project (every label drawn), to open from file:// or serve",
		Args:  cobra.ExactArgs(1),
		Example: `  vpipe preview out                        # writes out-preview/index.html (open it in a browser)
  vpipe preview out -o site --serve 8080   # writes site/, then serves it on http://127.0.0.1:8080/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, base, err := previewStore(args[0], &out)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			defer st.Close()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			o.Out, o.ImageBase, o.Log = out, base, log
			o.Title = filepath.Base(filepath.Clean(args[0]))
			sum, err := preview.Build(cmd.Context(), st, o)
			var sig *signalled
			if err != nil && errors.As(context.Cause(cmd.Context()), &sig) {
				return &exitError{code: sig.code(), err: fmt.Errorf("interrupted (%s): the thumbnails made are kept; run again to go on", sig.name())}
			}
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "preview: %d images, %d videos, %d labels, %d unlabelled images; thumbnails: %d made, %d already there; data %d KB in %s\n%s\n",
				sum.Images, sum.Videos, sum.Labels, sum.Unlabelled, sum.ThumbsMade, sum.ThumbsKept, (sum.DataBytes+1023)/1024, plural(sum.Chunks, "chunk"), sum.Index)
			if sum.Problems > 0 {
				log.Warn("preview: some images did not read whole (see the lines above; their cards are framed red)", "images", sum.Problems)
			}
			if serve == "" {
				return nil
			}
			return servePreview(cmd, st, out, serve, log)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "write the site to `DIR` (default: DATASET-preview beside the dataset)")
	f.StringVar(&serve, "serve", "", "then serve the site over HTTP on `ADDR` until Ctrl-C (8080 means 127.0.0.1:8080; port 0 picks one)")
	f.IntVar(&o.ThumbWidth, "thumb-width", 256, "thumbnail width in `PIXELS`")
	f.IntVar(&o.PageSize, "page-size", 200, "`N` image cards a page of the grid")
	f.IntVar(&o.Workers, "workers", 0, "`N` images read and thumbnailed at once (default: the cores)")
	return cmd
}

// previewStore opens the dataset's store through the registry and says how
// the site reaches its images: a folder's by a relative URL from the site's
// folder; a store URL's (s3://…, gs://…, azblob://…) by --serve, with no base
// (remotePreviewStore).
func previewStore(dataset string, out *string) (store.Store, string, error) {
	if strings.Contains(dataset, "://") {
		return remotePreviewStore(dataset, *out)
	}
	fi, err := os.Stat(dataset)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: no such folder", dataset)
	}
	if err != nil {
		return nil, "", err
	}
	if !fi.IsDir() {
		return nil, "", fmt.Errorf("%s is not a folder (an image project is)", dataset)
	}
	root, err := filepath.Abs(dataset)
	if err != nil {
		return nil, "", err
	}
	if *out == "" {
		*out = root + "-preview"
	}
	site, err := filepath.Abs(*out)
	if err != nil {
		return nil, "", err
	}
	if rel, err := filepath.Rel(root, site); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", fmt.Errorf("-o %s is inside the dataset %s: Supervisely's tools would read it as a dataset; write it beside", *out, dataset)
	}
	rel, err := filepath.Rel(site, root)
	if err != nil {
		return nil, "", err
	}
	base := (&url.URL{Path: filepath.ToSlash(rel) + "/"}).EscapedPath()
	st, err := registry.OpenStore(context.Background(), root, nil, registry.Deps{}) // a plain path: the folder's store
	if err != nil {
		return nil, "", err
	}
	return st, base, nil
}

// remotePreviewStore opens a dataset in a store (s3://…, gs://…,
// azblob://…; credentials from the store's standard chain). The site has no
// link to its images ("" base): --serve gives them under dataset/ (serve.js
// tells the page so), and a page opened from file:// shows the thumbnail in
// the full view, saying to run with --serve.
func remotePreviewStore(dataset, out string) (store.Store, string, error) {
	if out == "" {
		return nil, "", fmt.Errorf("%s: a dataset in a store needs -o DIR (where the site is written)", dataset)
	}
	st, err := registry.OpenStore(context.Background(), dataset, nil, registry.Deps{})
	if err != nil {
		return nil, "", err
	}
	return st, "", nil
}

// servePreview serves the site until the command's context ends (Ctrl-C).
func servePreview(cmd *cobra.Command, st store.Store, dir, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", preview.Addr(addr))
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("--serve %s: %w", addr, err)}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "serving http://%s/ (Ctrl-C stops)\n", ln.Addr())
	if !loopback(ln.Addr()) {
		log.Warn("the preview is reachable from other machines: serve it on 127.0.0.1 unless that is meant", "addr", ln.Addr().String())
	}
	// Ctrl-C is how a server is stopped: the preview was made, exit 0.
	if err := preview.Serve(cmd.Context(), ln, preview.Handler(st, dir, log)); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	return nil
}

// plural is "1 chunk", "2 chunks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
