// Package s3 writes the Supervisely image project layout of sinks/local to an
// S3 bucket under a prefix: meta.json, custom_data.json, and per dataset
// <dataset>/datasets/<child>/img|ann|meta/... . Every object is one PUT, so no
// reader ever sees part of one, and a frame's image is its last object, so an
// image that is listed always has its annotation and meta.
//
// Unlike sinks/local, the S3 sink takes no lease: two unsharded runs into one
// prefix are not refused. What keeps such a prefix repairable is that a Put
// that fails leaves none of its objects, and that Existing counts an image as
// there only with its annotation and meta, so a re-run rewrites whatever one
// run's roll-back took from under the other.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/sinks/local"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Sink writes under a bucket prefix.
type Sink struct {
	c *s3conn.Client
	// beforeMetaPut runs between reading and writing meta.json (tests make a
	// concurrent change there).
	beforeMetaPut func()
}

// New connects to the bucket named by o.URL. Nothing is read or written yet.
func New(ctx context.Context, o s3conn.Options) (*Sink, error) {
	c, err := s3conn.New(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Sink{c: c}, nil
}

// Describe names the sink.
func (s *Sink) Describe() string { return "s3 " + s.c.Describe() }

// Begin merges the source meta into meta.json (read, merge, conditional PUT:
// If-Match the ETag read, or If-None-Match: * for a new project). When another
// writer (another shard) changed it in between, the PUT is refused and Begin
// reads and merges again, so concurrent writers never lose each other's
// classes; a meta conflict is an error before anything is written.
// custom_data.json is written when it differs.
func (s *Sink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error) {
	key := s.c.Loc.Key("meta.json")
	var out *sv.ProjectMeta
	for attempt := 1; ; attempt++ {
		m, metaJSON, b, etag, found, err := s.merge(ctx, meta)
		if err != nil {
			return nil, err
		}
		out = m
		if metaJSON == nil || (found && bytes.Equal(metaJSON, b)) {
			break
		}
		if s.beforeMetaPut != nil {
			s.beforeMetaPut()
		}
		in := s.putInput(key, metaJSON)
		if found {
			in.IfMatch = aws.String(etag)
		} else {
			in.IfNoneMatch = aws.String("*")
		}
		_, err = s.c.PutObject(ctx, in)
		if err == nil {
			break
		}
		if !s3conn.IsPreconditionFailed(err) {
			return nil, s.c.Err("PutObject", key, err)
		}
		if attempt == metaAttempts {
			return nil, fmt.Errorf("%s: changed by other writers during each of %d merges (conditional PUT refused); nothing was written, run again: %w",
				s.c.Loc.Object(key), attempt, err)
		}
	}
	if custom != nil {
		if err := s.putJSONIfChanged(ctx, s.c.Loc.Key(local.CustomDataFile), custom); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// metaAttempts bounds Begin's read-merge-write rounds on meta.json.
const metaAttempts = 10

// Check makes Begin's checks (meta.json readable and mergeable), writing nothing.
func (s *Sink) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	_, _, _, _, _, err := s.merge(ctx, meta)
	return err
}

// merge reads meta.json and merges meta into it: the result, what meta.json
// must become (nil = leave it), and what was read (bytes, etag, found).
func (s *Sink) merge(ctx context.Context, meta *sv.ProjectMeta) (out *sv.ProjectMeta, metaJSON, b []byte, etag string, found bool, err error) {
	key := s.c.Loc.Key("meta.json")
	b, etag, found, err = s.c.Get(ctx, key)
	if err != nil {
		return nil, nil, nil, "", false, err
	}
	var have *sv.ProjectMeta
	if found {
		have = &sv.ProjectMeta{}
		if err := json.Unmarshal(b, have); err != nil {
			return nil, nil, nil, "", false, fmt.Errorf("%s: %w", s.c.Loc.Object(key), err)
		}
	}
	out = have
	switch {
	case meta != nil:
		m, err := sv.OutputMeta(have, meta)
		if err != nil {
			return nil, nil, nil, "", false, fmt.Errorf("%s: cannot merge the source project's meta: %w", s.c.Loc.Object(key), err)
		}
		mb, err := json.Marshal(m)
		if err != nil {
			return nil, nil, nil, "", false, err
		}
		out, metaJSON = m, sv.Indent(mb)
	case have == nil:
		out, metaJSON = &sv.ProjectMeta{}, []byte(local.EmptyMeta)
	}
	return out, metaJSON, b, etag, found, nil
}

// Dataset writes a dataset's custom data, after CheckDataset's checks.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	if err := s.CheckDataset(ctx, info); err != nil {
		return err
	}
	dir, _ := datasetDir(info.Dataset)
	return s.putJSONIfChanged(ctx, s.c.Loc.Key(dir+"/"+local.CustomDataFile), info.Custom)
}

// CheckDataset tells, writing nothing, whether a dataset can take this run's
// images: a valid name, and if it holds images, the same recorded settings.
func (s *Sink) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	dir, err := datasetDir(info.Dataset)
	if err != nil {
		return err
	}
	key := s.c.Loc.Key(dir + "/" + local.CustomDataFile)
	b, _, found, err := s.c.Get(ctx, key)
	if err != nil || !found {
		return err
	}
	var have map[string]any
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("%s: %w", s.c.Loc.Object(key), err)
	}
	if err := local.SameOutput(have[core.OutputKey], info.Custom[core.OutputKey]); err != nil {
		if imgs, lerr := s.Existing(ctx, info.Dataset); lerr == nil && len(imgs) == 0 {
			return nil // settings of a dataset without images bind nothing
		}
		return fmt.Errorf("%s: %w; write to another sink.url, or remove that dataset", s.c.Loc.Object(key), err)
	}
	return nil
}

// putJSONIfChanged writes v unless the object already holds exactly its bytes.
func (s *Sink) putJSONIfChanged(ctx context.Context, key string, v any) error {
	b, _, found, err := s.c.Get(ctx, key)
	if err != nil {
		return err
	}
	return s.putJSON(ctx, key, v, b, found)
}

func (s *Sink) putJSON(ctx context.Context, key string, v any, have []byte, found bool) error {
	nb, err := local.MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", s.c.Loc.Object(key), err)
	}
	if found && bytes.Equal(nb, have) {
		return nil
	}
	return s.put(ctx, key, nb)
}

// datasetDir is a dataset's path under the prefix, with the local sink's rules
// for names (no /, \, NUL, . or .., no reserved top-level names).
func datasetDir(dataset []string) (string, error) {
	d, err := local.DatasetDir("", dataset)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(d), nil
}

// keys are the objects of one image: meta, annotation, image (written in that order).
func (s *Sink) keys(dataset []string, name string) (img, ann, meta string, err error) {
	if err := local.CheckName(name); err != nil {
		return "", "", "", fmt.Errorf("image %q: %w", name, err)
	}
	dir, err := datasetDir(dataset)
	if err != nil {
		return "", "", "", err
	}
	img = s.c.Loc.Key(dir + "/img/" + name)
	ann = s.c.Loc.Key(dir + "/ann/" + name + ".json")
	meta = s.c.Loc.Key(dir + "/meta/" + name + ".json")
	if len(meta) > s3conn.MaxKeyLen {
		return "", "", "", fmt.Errorf("image %q: its object keys would be longer than S3's %d bytes", name, s3conn.MaxKeyLen)
	}
	return img, ann, meta, nil
}

// Existing lists the complete images of a dataset: those whose image,
// annotation and meta objects are all there (every page of ListObjectsV2 of
// img/, ann/ and meta/). An image that lost its annotation or meta is
// missing, so a re-run writes it again.
func (s *Sink) Existing(ctx context.Context, dataset []string) (map[string]bool, error) {
	dir, err := datasetDir(dataset)
	if err != nil {
		return nil, err
	}
	list := func(sub, suffix string) (map[string]bool, error) {
		prefix := s.c.Loc.Key(dir + "/" + sub + "/")
		out := map[string]bool{}
		err := s.c.List(ctx, prefix, "/", func(key string, _ int64) error {
			if n, ok := strings.CutSuffix(strings.TrimPrefix(key, prefix), suffix); ok {
				out[n] = true
			}
			return nil
		})
		return out, err
	}
	imgs, err := list("img", "")
	if err != nil || len(imgs) == 0 {
		return imgs, err
	}
	for _, sub := range []string{"ann", "meta"} {
		have, err := list(sub, ".json")
		if err != nil {
			return nil, err
		}
		for n := range imgs {
			if !have[n] {
				delete(imgs, n)
			}
		}
	}
	return imgs, nil
}

// Put writes meta, annotation, then the image, one PUT each. A PUT that
// fails takes back the objects this Put stored before it, so a frame whose
// Put failed leaves nothing: the runner rolls back only the frames whose Put
// returned nil.
func (s *Sink) Put(ctx context.Context, img *core.Image) error {
	ik, ak, mk, err := s.keys(img.Dataset, img.Name)
	if err != nil {
		return err
	}
	var keys []string
	var datas [][]byte
	if img.Meta != nil {
		b, err := local.MarshalJSON(img.Meta)
		if err != nil {
			return fmt.Errorf("%s: meta: %w", img.Name, err)
		}
		keys, datas = append(keys, mk), append(datas, b)
	}
	keys, datas = append(keys, ak), append(datas, sv.Indent(img.Ann))
	for i, k := range keys {
		if err := s.put(ctx, k, datas[i]); err != nil {
			// Take back this one too: a PUT cut off may still have been applied.
			return s.undo(context.WithoutCancel(ctx), err, keys[:i+1])
		}
	}
	// Once its annotation and meta are there, the image is finished even if the
	// run is stopping: a PUT cut off by cancellation may still have been applied,
	// and an image must never be left without them.
	bg := context.WithoutCancel(ctx)
	if err := s.put(bg, ik, img.Data); err != nil {
		if s.stored(bg, ik, img.Data) {
			return nil // applied, its answer lost: the object is whole (a PUT is atomic)
		}
		return s.undo(bg, err, keys)
	}
	return nil
}

// undo removes the objects a failed Put stored before its error.
func (s *Sink) undo(ctx context.Context, err error, keys []string) error {
	if derr := s.deleteKeys(ctx, keys); derr != nil {
		return fmt.Errorf("%w (and removing the annotation and meta written before failed: %v)", err, derr)
	}
	return err
}

// stored tells whether key holds exactly data (a single PUT's ETag is its MD5).
func (s *Sink) stored(ctx context.Context, key string, data []byte) bool {
	h, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.c.Loc.Bucket), Key: aws.String(key)})
	if err != nil || h.ETag == nil || h.ContentLength == nil || *h.ContentLength != int64(len(data)) {
		return false
	}
	sum := md5.Sum(data)
	return strings.Trim(*h.ETag, `"`) == hex.EncodeToString(sum[:])
}

func (s *Sink) putInput(key string, data []byte) *s3.PutObjectInput {
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(key, ".json"):
		ct = "application/json"
	case strings.HasSuffix(key, ".png"):
		ct = "image/png"
	case strings.HasSuffix(key, ".jpg"):
		ct = "image/jpeg"
	case strings.HasSuffix(key, ".webp"):
		ct = "image/webp"
	}
	return &s3.PutObjectInput{Bucket: aws.String(s.c.Loc.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(ct)}
}

// put is one PutObject; the SDK retries it (the body is seekable) and returns
// after the server has the whole object, so data is not kept.
func (s *Sink) put(ctx context.Context, key string, data []byte) error {
	if _, err := s.c.PutObject(ctx, s.putInput(key, data)); err != nil {
		return s.c.Err("PutObject", key, err)
	}
	return nil
}

// Delete removes images (all the images first, so none counts as existing
// with its annotation gone), then their annotations and metas, then the
// dataset's custom data if nothing else is left in it.
func (s *Sink) Delete(ctx context.Context, dataset []string, names []string) error {
	dir, err := datasetDir(dataset)
	if err != nil {
		return err
	}
	var imgs, rest []string
	for _, n := range names {
		ik, ak, mk, err := s.keys(dataset, n)
		if err != nil {
			return err
		}
		imgs = append(imgs, ik)
		rest = append(rest, ak, mk)
	}
	if err := s.deleteKeys(ctx, imgs); err != nil {
		return err
	}
	if err := s.deleteKeys(ctx, rest); err != nil {
		return err
	}
	prefix := s.c.Loc.Key(dir + "/")
	var left []string
	if err := s.c.List(ctx, prefix, "", func(key string, _ int64) error {
		left = append(left, key)
		if len(left) > 1 {
			return errEnough
		}
		return nil
	}); err != nil && err != errEnough {
		return err
	}
	if len(left) == 1 && left[0] == prefix+local.CustomDataFile {
		return s.deleteKeys(ctx, left)
	}
	return nil
}

var errEnough = fmt.Errorf("enough")

// deleteKeys removes objects, 1000 a DeleteObjects call; missing ones are fine.
func (s *Sink) deleteKeys(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		objs := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := s.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.c.Loc.Bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		if err != nil {
			return s.c.Err("DeleteObjects", keys[0], err)
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) != "NoSuchKey" {
				return fmt.Errorf("DeleteObjects %s: %s: %s", s.c.Loc.Object(aws.ToString(e.Key)), aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
		keys = keys[n:]
	}
	return nil
}

// Close has nothing to flush: every Put is stored when it returns.
func (s *Sink) Close() error { return nil }
