package preview

import (
	"embed"
	"encoding/json"
	"path/filepath"
)

// assets are the page: index.html, app.js, style.css (no network, no CDN).
//
//go:embed assets
var assets embed.FS

// writeSite writes the page and serve.js (which a server of the folder
// replaces: see Handler), after the data.
func writeSite(o *Options, sum *Summary) error {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(o.Out, name), b); err != nil {
			return err
		}
	}
	if err := writeAtomic(filepath.Join(o.Out, "serve.js"), []byte(serveJS(""))); err != nil {
		return err
	}
	sum.Index = filepath.Join(o.Out, "index.html")
	return nil
}

// serveJS tells the page where a server gives the project's images ("": it
// gives none, the page uses the index's base).
func serveJS(base string) string {
	if base == "" {
		return "window.VPIPE_SERVED=null;\n"
	}
	b, _ := json.Marshal(base)
	return "window.VPIPE_SERVED=" + string(b) + ";\n"
}
