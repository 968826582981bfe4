package webdataset

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vpipe/vpipe/core"
)

// Sample is what a sample's .json member holds: where the image comes from,
// the frame's meta, and its annotation in the Supervisely image form.
type Sample struct {
	// Name is the image's file name, as the Supervisely layout names it.
	Name string `json:"name"`
	// Dataset is the video's source dataset path, "/"-joined ("ds0/child").
	Dataset string `json:"dataset"`
	// Video is the video's file name.
	Video      string          `json:"video"`
	FrameIndex json.RawMessage `json:"frame_index"`
	PTS        json.RawMessage `json:"pts"`
	TimeS      json.RawMessage `json:"time_s"`
	// Meta is the whole image meta (the video's, then frame_index, pts, time_s).
	Meta map[string]any `json:"meta"`
	// Annotation is the image annotation (Supervisely §6.1).
	Annotation json.RawMessage `json:"annotation"`
}

// epoch is every member's modification time, so that shards are the same bytes
// whenever they are made.
var epoch = time.Unix(0, 0)

// encodeSample makes the tar members of img: <key>.<ext> (the image), then
// <key>.json. Headers are fixed but for name and size (mode 0644, uid and gid
// 0, no user names, mtime 0), so the same image always gives the same bytes;
// USTAR is used where the name fits it, PAX (which every tar reader reads)
// where it does not. The bytes are the members as they sit in a shard, each
// padded to 512 bytes, without the end-of-archive blocks.
func encodeSample(key, ext string, img *core.Image) ([]byte, error) {
	js, err := sampleJSON(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	return members(key, ext, img.Data, js)
}

func members(key, ext string, data, js []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(data) + len(js) + 4*512)
	tw := tar.NewWriter(&b)
	for _, m := range []struct {
		name string
		data []byte
	}{{key + "." + ext, data}, {key + ".json", js}} {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: m.name, Mode: 0o644, Size: int64(len(m.data)), ModTime: epoch}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar member %s: %w", m.name, err)
		}
		if _, err := tw.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Flush(); err != nil { // pads the last member; Close would add the end blocks
		return nil, err
	}
	return b.Bytes(), nil
}

// sampleJSON is the .json member: compact, keys of maps sorted, HTML not escaped.
func sampleJSON(img *core.Image) ([]byte, error) {
	n := len(img.Dataset)
	s := Sample{Name: img.Name, Dataset: strings.Join(img.Dataset[:n-1], "/"), Video: img.Dataset[n-1], Meta: img.Meta}
	var err error
	for k, dst := range map[string]*json.RawMessage{"frame_index": &s.FrameIndex, "pts": &s.PTS, "time_s": &s.TimeS} {
		if *dst, err = json.Marshal(img.Meta[k]); err != nil {
			return nil, fmt.Errorf("meta %s: %w", k, err)
		}
	}
	var ann bytes.Buffer
	if err := json.Compact(&ann, img.Ann); err != nil {
		return nil, fmt.Errorf("annotation: %w", err)
	}
	s.Annotation = ann.Bytes()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// frameOf is the image's frame index, -1 when its meta has none.
func frameOf(meta map[string]any) int64 {
	switch v := meta["frame_index"].(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case float64:
		if v >= 0 && v == float64(int64(v)) {
			return int64(v)
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
	}
	return -1
}

// sampleData is one sample read back from tar members.
type sampleData struct {
	Key, Ext string
	Image    []byte
	JSON     []byte
}

// bytes are the sample's members as encodeSample makes them.
func (d *sampleData) bytes() ([]byte, error) { return members(d.Key, d.Ext, d.Image, d.JSON) }

// errTruncated ends a reading of members cut short (a shard damaged or cut).
var errTruncated = errors.New("tar members cut short")

// readSamples calls fn with every whole sample of a stream of tar members
// (a shard, or one staged sample): an image member followed by the .json
// member of the same key. Members that do not pair so are skipped; a stream
// that ends mid-member ends the reading with errTruncated after the samples
// before it.
func readSamples(r io.Reader, fn func(*sampleData) error) error {
	tr := tar.NewReader(r)
	var img *sampleData
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errTruncated, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", errTruncated, h.Name, err)
		}
		key, ext, ok := strings.Cut(h.Name, ".")
		switch {
		case !ok || h.Typeflag != tar.TypeReg:
			img = nil
		case isImageExt(ext):
			img = &sampleData{Key: key, Ext: ext, Image: data}
		case ext == "json" && img != nil && img.Key == key:
			img.JSON = data
			if err := fn(img); err != nil {
				return err
			}
			img = nil
		default:
			img = nil
		}
	}
}

// row is one sample of the index (index.parquet).
type row struct {
	Key        string       `parquet:"key"`
	Shard      string       `parquet:"shard"`
	Offset     int64        `parquet:"offset"`
	Size       int64        `parquet:"size"`
	Name       string       `parquet:"name"`
	Dataset    string       `parquet:"dataset"`
	Video      string       `parquet:"video"`
	FrameIndex *int64       `parquet:"frame_index,optional"`
	PTS        *int64       `parquet:"pts,optional"`
	TimeS      *float64     `parquet:"time_s,optional"`
	Width      int32        `parquet:"width"`
	Height     int32        `parquet:"height"`
	Labels     []labelCount `parquet:"labels,list"`
}

// labelCount is how many labels of one class an image has.
type labelCount struct {
	Class string `parquet:"class"`
	Count int64  `parquet:"count"`
}

// rowOf reads a sample's index row from its .json member.
func rowOf(d *sampleData) (row, error) {
	var s struct {
		Sample
		Annotation struct {
			Size    struct{ Width, Height int32 } `json:"size"`
			Objects []struct {
				ClassTitle string `json:"classTitle"`
			} `json:"objects"`
		} `json:"annotation"`
	}
	if err := json.Unmarshal(d.JSON, &s); err != nil {
		return row{}, fmt.Errorf("%s.json: %w", d.Key, err)
	}
	r := row{Key: d.Key, Name: s.Name, Dataset: s.Dataset, Video: s.Video,
		Width: s.Annotation.Size.Width, Height: s.Annotation.Size.Height}
	r.FrameIndex, r.PTS = jsonInt(s.FrameIndex), jsonInt(s.PTS)
	var t float64
	if json.Unmarshal(s.TimeS, &t) == nil && string(s.TimeS) != "null" {
		r.TimeS = &t
	}
	counts := map[string]int64{}
	for _, o := range s.Annotation.Objects {
		counts[o.ClassTitle]++
	}
	for c, n := range counts {
		r.Labels = append(r.Labels, labelCount{Class: c, Count: n})
	}
	sort.Slice(r.Labels, func(i, j int) bool { return r.Labels[i].Class < r.Labels[j].Class })
	return r, nil
}

func jsonInt(b json.RawMessage) *int64 {
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&n) != nil {
		return nil
	}
	i, err := n.Int64()
	if err != nil {
		return nil
	}
	return &i
}
