package preview

import (
	"bufio"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	sv "github.com/vpipe/vpipe/supervisely"
)

// assets are the page: index.html, app.js, style.css (no network, no CDN).
//
//go:embed assets
var assets embed.FS

// data is data.js's object but its images, which are written one a line.
type data struct {
	Title    string   `json:"title"`
	Base     *string  `json:"base"`
	Thumbs   string   `json:"thumbs"`
	Page     int      `json:"page"`
	Classes  []class  `json:"classes"`
	Tags     []string `json:"tags"`
	Datasets []string `json:"datasets"`
	Splits   []string `json:"splits"`
	// Videos are [name, dataset, split, folder key, frames]: frames is one
	// past the highest frame index of its images (the layout does not record
	// a video's frame count).
	Videos [][]any `json:"videos"`
	images [][]any
}

// names gives strings small indexes, in the order first seen.
type names struct {
	list  []string
	index map[string]int
}

func (n *names) of(s string) int {
	if n.index == nil {
		n.index = map[string]int{}
	}
	if i, ok := n.index[s]; ok {
		return i
	}
	n.index[s] = len(n.list)
	n.list = append(n.list, s)
	return len(n.list) - 1
}

// assemble turns the images read into the page's data. An image is a row
// [name, video, frame, time_s, pts, width, height, bytes, labels, tags,
// problems]; labels, tags and problems are 0 when empty (shorter than []).
func assemble(imgs []*img, cls *classes, meta *sv.ProjectMeta, o *Options, sum *Summary) *data {
	sortImages(imgs)
	var tags, datasets, splits names
	for _, t := range meta.Tags {
		if t.Name != ObjectIDTag {
			tags.of(t.Name)
		}
	}
	d := &data{Title: o.Title, Thumbs: "thumbs/w" + strconv.Itoa(o.ThumbWidth) + "/", Page: o.PageSize}
	if o.ImageBase != "" {
		d.Base = &o.ImageBase
	}
	tagRows := func(ts []tag) any {
		if len(ts) == 0 {
			return 0
		}
		out := make([]any, len(ts))
		for i, t := range ts {
			if out[i] = tags.of(t.Name); t.HasValue {
				out[i] = []any{tags.of(t.Name), t.Value}
			}
		}
		return out
	}
	video := map[string]int{}
	for _, im := range imgs {
		v, ok := video[im.e.DirKey]
		if !ok {
			v = len(d.Videos)
			video[im.e.DirKey] = v
			d.Videos = append(d.Videos, []any{im.videoName(), datasets.of(im.datasetName()), splits.of(im.e.Dataset[0]), im.e.DirKey, 0})
		}
		if im.Frame != nil && *im.Frame+1 > d.Videos[v][4].(int) {
			d.Videos[v][4] = *im.Frame + 1
		}
		var ls any = 0
		if len(im.Labels) > 0 {
			rows := make([]any, len(im.Labels))
			for i, l := range im.Labels {
				rows[i] = l.row(cls.of(l.Class), tagRows(l.Tags))
			}
			ls = rows
		} else {
			sum.Unlabelled++
		}
		sum.Labels += len(im.Labels)
		var probs any = 0
		if len(im.Problems) > 0 {
			probs = im.Problems
			sum.Problems++
		}
		d.images = append(d.images, []any{im.e.Name, v, im.Frame, raw(im.Time), raw(im.PTS), im.W, im.H, im.e.Size, ls, tagRows(im.Tags), probs})
	}
	d.Classes, d.Tags, d.Datasets, d.Splits = cls.list, nonNil(tags.list), datasets.list, splits.list
	sum.Videos = len(d.Videos)
	return d
}

func raw(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeSite writes data.js, the page and serve.js (which a server of the
// folder replaces: see Handler).
func writeSite(o *Options, d *data, sum *Summary) error {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	n, err := writeData(filepath.Join(o.Out, "data.js"), d)
	if err != nil {
		return err
	}
	sum.DataBytes = n
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
// gives none, the page uses data.js's base).
func serveJS(base string) string {
	if base == "" {
		return "window.VPIPE_SERVED=null;\n"
	}
	b, _ := json.Marshal(base)
	return "window.VPIPE_SERVED=" + string(b) + ";\n"
}

// writeData writes data.js, a script that sets window.VPIPE_DATA (a page
// opened from file:// may load a script but not fetch a JSON file), one image
// a line, through a temporary and a rename; it returns its size.
func writeData(path string, d *data) (int64, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	head, err := json.Marshal(d)
	if err != nil {
		f.Close()
		return 0, err
	}
	fmt.Fprintf(w, "window.VPIPE_DATA=%s,\"images\":[\n", head[:len(head)-1])
	for i, row := range d.images {
		b, err := json.Marshal(row)
		if err != nil {
			f.Close()
			return 0, fmt.Errorf("data.js: image %v: %w", row[0], err)
		}
		w.Write(b)
		if i < len(d.images)-1 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
	}
	w.WriteString("]};\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return st.Size(), os.Rename(tmp, path)
}
