package webdataset

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vpipe/vpipe/layouts/project"
)

// Escape makes one name (a dataset, a video, an image's name without its
// extension) a segment of a WebDataset key: "%" becomes "%25" and "." becomes
// "%2E"; every other byte is kept. WebDataset readers cut a member's name at
// a dot to find its key and extension, so a key holds none; percent-encoding
// is injective (two names never share a key) and undone by any URL decoder
// (Python's urllib.parse.unquote, JavaScript's decodeURIComponent). The
// readable "a_mp4" for "a.mp4" was not taken: it is not injective ("a.mp4"
// and "a_mp4" would be one key).
func Escape(name string) string {
	if !strings.ContainsAny(name, ".%") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '%':
			b.WriteString("%25")
		case '.':
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape undoes Escape; a segment Escape cannot have made is an error.
func Unescape(seg string) (string, error) {
	if !strings.Contains(seg, "%") {
		if strings.Contains(seg, ".") {
			return "", fmt.Errorf("key segment %q holds a dot", seg)
		}
		return seg, nil
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		switch {
		case seg[i] == '.':
			return "", fmt.Errorf("key segment %q holds a dot", seg)
		case seg[i] != '%':
			b.WriteByte(seg[i])
		case strings.HasPrefix(seg[i:], "%25"):
			b.WriteByte('%')
			i += 2
		case strings.HasPrefix(seg[i:], "%2E"):
			b.WriteByte('.')
			i += 2
		default:
			return "", fmt.Errorf("key segment %q: %% is not followed by 25 or 2E", seg)
		}
	}
	return b.String(), nil
}

// imageExts are the image extensions a sample's image member may have (those
// of stages.encode.format, and .jpeg).
var imageExts = []string{"png", "jpg", "jpeg", "webp"}

// SampleKey is the WebDataset key of an image: its destination dataset path
// (source dataset path, then the video's name) and its name without the
// extension, each escaped, joined by "/"; ext is the extension, the image
// member's suffix ("png"). Image "a.mp4_frame_000123.png" of dataset
// [ds0 child a.mp4] is key "ds0/child/a%2Emp4/a%2Emp4_frame_000123". Names are
// checked as the project layout checks them (no /, \ or NUL, not . or ..).
func SampleKey(dataset []string, name string) (key, ext string, err error) {
	dir, err := DatasetKey(dataset)
	if err != nil {
		return "", "", err
	}
	if err := project.CheckName(name); err != nil {
		return "", "", fmt.Errorf("image %q: %w", name, err)
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || !isImageExt(name[i+1:]) {
		return "", "", fmt.Errorf("image %q: a WebDataset sample's image must be named <name>.png, .jpg, .jpeg or .webp", name)
	}
	return dir + "/" + Escape(name[:i]), name[i+1:], nil
}

func isImageExt(ext string) bool {
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// DatasetKey is the key prefix of a destination dataset: its names checked
// and escaped, joined by "/".
func DatasetKey(dataset []string) (string, error) {
	if len(dataset) == 0 {
		return "", fmt.Errorf("empty dataset path")
	}
	parts := make([]string, len(dataset))
	for i, n := range dataset {
		if err := project.CheckName(n); err != nil {
			return "", fmt.Errorf("dataset %q: %w", strings.Join(dataset[:i+1], "/"), err)
		}
		parts[i] = Escape(n)
	}
	return strings.Join(parts, "/"), nil
}

// ParseKey splits a sample key into its destination dataset path and the
// image's name without extension.
func ParseKey(key string) (dataset []string, stem string, err error) {
	segs := strings.Split(key, "/")
	if len(segs) < 2 {
		return nil, "", fmt.Errorf("sample key %q: no dataset", key)
	}
	out := make([]string, len(segs))
	for i, s := range segs {
		if out[i], err = Unescape(s); err != nil {
			return nil, "", fmt.Errorf("sample key %q: %w", key, err)
		}
		if out[i] == "" {
			return nil, "", fmt.Errorf("sample key %q: an empty segment", key)
		}
	}
	return out[:len(out)-1], out[len(out)-1], nil
}

// pos is where a sample sorts in its split: videos in the order a walk of
// folders gives (dataset path and video name compared name by name, as
// sources/s3's walkOrder and sources/local do), then frames by index, then by
// name (frame is -1 when the image's meta has no frame_index).
type pos struct {
	Key   string `json:"key"`
	Frame int64  `json:"frame"`
}

// place is a pos parsed once, for sorting many.
type place struct {
	pos
	ds   []string
	stem string
	bad  bool // not a sample key: sorts by its bytes, after the others
}

func placeOf(p pos) place {
	ds, stem, err := ParseKey(p.Key)
	return place{pos: p, ds: ds, stem: stem, bad: err != nil}
}

// cmpPos orders two samples.
func cmpPos(a, b pos) int { return cmpPlace(placeOf(a), placeOf(b)) }

func cmpPlace(a, b place) int {
	switch {
	case a.Key == b.Key:
		return 0
	case a.bad || b.bad:
		if a.bad != b.bad {
			if a.bad {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Key, b.Key)
	}
	if c := cmpWalk(a.ds, b.ds); c != 0 {
		return c
	}
	if a.Frame != b.Frame {
		if a.Frame < b.Frame {
			return -1
		}
		return 1
	}
	return strings.Compare(a.stem, b.stem)
}

// cmpWalk compares two paths name by name, a path before those it leads to.
func cmpWalk(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// Objects of one split, under <split>/.
const (
	vpipeDir    = ".vpipe"
	stagingDir  = vpipeDir + "/staging/"
	manifestKey = vpipeDir + "/manifest.json"
	indexName   = "index.parquet"
	shardPrefix = "shard-"
)

// ShardName is the name of a split's shard n: shard-000000.tar.
func ShardName(n int) string { return fmt.Sprintf("%s%06d.tar", shardPrefix, n) }

// shardNumber parses a ShardName.
func shardNumber(name string) (int, bool) {
	d, ok := strings.CutPrefix(name, shardPrefix)
	if !ok {
		return 0, false
	}
	d, ok = strings.CutSuffix(d, ".tar")
	if !ok || len(d) < 6 {
		return 0, false
	}
	n, err := strconv.Atoi(d)
	if err != nil || n < 0 || ShardName(n) != name {
		return 0, false
	}
	return n, true
}

// staged is one staged sample: the object
// <split>/.vpipe/staging/<key>/<stamp>.<frame>.<ext> holding the sample's tar
// members. The stamp (hex nanoseconds, increasing within a writer) orders
// versions of one key: the newest wins. Stamp 0 marks a copy taken back out
// of a shard by an assembly, older than any Put.
type staged struct {
	Object string // store key
	Key    string
	Ext    string
	Frame  int64
	Stamp  int64
	Size   int64
}

func (s staged) pos() pos { return pos{Key: s.Key, Frame: s.Frame} }

// stagingObject names a staged sample's object.
func stagingObject(split, key, ext string, frame, stamp int64) string {
	f := "x"
	if frame >= 0 {
		f = strconv.FormatInt(frame, 10)
	}
	return fmt.Sprintf("%s/%s%s/%016x.%s.%s", split, stagingDir, key, stamp, f, ext)
}

// parseStaged reads a staged object's name (a store key); ok is false for an
// object the layout did not name so.
func parseStaged(split, object string, size int64) (staged, bool) {
	rest, ok := strings.CutPrefix(object, split+"/"+stagingDir)
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 {
		return staged{}, false
	}
	parts := strings.Split(rest[i+1:], ".")
	if len(parts) != 3 || len(parts[0]) != 16 || !isImageExt(parts[2]) {
		return staged{}, false
	}
	stamp, err := strconv.ParseInt(parts[0], 16, 64)
	if err != nil || stamp < 0 {
		return staged{}, false
	}
	frame := int64(-1)
	if parts[1] != "x" {
		if frame, err = strconv.ParseInt(parts[1], 10, 64); err != nil || frame < 0 {
			return staged{}, false
		}
	}
	s := staged{Object: object, Key: rest[:i], Ext: parts[2], Frame: frame, Stamp: stamp, Size: size}
	if _, _, err := ParseKey(s.Key); err != nil {
		return staged{}, false
	}
	return s, true
}

// checkSplit refuses a split name that is not a plain folder name of the
// layout's root.
func checkSplit(split string) error {
	if err := project.CheckName(split); err != nil {
		return fmt.Errorf("split %q: %w", split, err)
	}
	if strings.HasPrefix(split, ".") || split == "meta.json" || split == project.CustomDataFile {
		return fmt.Errorf("split %q: not a usable folder name (hidden, or one of the layout's files)", split)
	}
	return nil
}

// Written says a key is a video's output, a shard or a staged sample: the
// layout's Spec.Written.
func Written(key string) bool {
	return strings.HasSuffix(key, ".tar") || strings.Contains(key, "/"+stagingDir)
}
