package storesource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/stall"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/registry"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

var srv *s3test.Server

func TestMain(m *testing.M) { os.Exit(s3test.Main(m, &srv)) }

// s3Source is the source of an S3 store (the bucket prefix url), reached at
// endpoint, listed in pages of pageSize keys (0: the server's).
func s3Source(t *testing.T, url, endpoint string, pageSize int32, timeout time.Duration) *Source {
	t.Helper()
	srv.Env(t)
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: url, Endpoint: endpoint, PathStyle: true, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	c.PageSize = pageSize
	return New(s3store.New(c))
}

func items(t *testing.T, url string, pageSize int32) ([]*core.Item, *core.Project, error) {
	t.Helper()
	return list(s3Source(t, url, srv.Endpoint, pageSize, 0))
}

// list reads a source's project and items.
func list(s *Source) ([]*core.Item, *core.Project, error) {
	p, err := s.Project(context.Background())
	if err != nil {
		return nil, nil, err
	}
	var out []*core.Item
	err = s.Items(context.Background(), func(it *core.Item) error { out = append(out, it); return nil })
	return out, p, err
}

func ids(its []*core.Item) string {
	var s []string
	for _, it := range its {
		s = append(s, it.ID())
	}
	return strings.Join(s, " ")
}

// A plain tree: sub-prefixes are datasets, top-level videos go to ds0,
// hidden entries, folder markers and other files are left out, every page is read.
func TestPlainTree(t *testing.T) {
	b := srv.Bucket(t)
	for _, k := range []string{"in/a.mp4", "in/notes.txt", "in/.hidden.mp4", "in/.cache/x.mp4", "in/street/", "in/street/b.MKV",
		"in/street/night/c.webm", "other/d.mp4"} {
		data := []byte("x")
		if strings.HasSuffix(k, "/") {
			data = nil // a folder marker
		}
		srv.Put(t, b, k, data)
	}
	its, p, err := items(t, "s3://"+b+"/in", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(its); got != "ds0/a.mp4 street/b.MKV street/night/c.webm" {
		t.Fatalf("items: %s", got)
	}
	if p.Meta != nil || p.Provenance["is_sample"] != true {
		t.Fatalf("project: %+v", p)
	}
	it := its[0]
	if it.Open != "s3://"+b+"/in/a.mp4" || it.Fetch == nil {
		t.Fatalf("open: %q, fetch %v; want the object's s3:// name, read through Fetch", it.Open, it.Fetch != nil)
	}
	in, err := it.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	if got, err := io.ReadAll(in.Options.Input); err != nil || string(got) != "x" || in.Size != 1 || in.Fetched() != 1 {
		t.Fatalf("read %q, %v (size %d, fetched %d)", got, err, in.Size, in.Fetched())
	}
	if _, _, err := items(t, "s3://"+b+"/none", 0); err == nil || !strings.Contains(err.Error(), "s3://"+b+"/none: no videos found") {
		t.Fatalf("empty prefix: %v", err)
	}
}

// A Supervisely video project: datasets nested under datasets/, the
// annotation by <video>.json or <stem>.json, video_info ids.
func TestProject(t *testing.T) {
	b := srv.Bucket(t)
	put := func(k, v string) { srv.Put(t, b, "p/proj/"+k, []byte(v)) }
	put("meta.json", `{"classes":[],"tags":[]}`)
	put("ds1/video/v.mp4", "x")
	put("ds1/ann/v.json", `{}`)
	put("ds1/video_info/v.mp4.json", `{"id": 7, "dataset_id": 3, "project_id": 1}`)
	put("ds1/datasets/child/video/w.mp4", "x")
	put("ds1/datasets/child/ann/w.mp4.json", `{}`)
	put("video/stray.mp4", "x") // a reserved name is never a dataset
	its, p, err := items(t, "s3://"+b+"/p/proj", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(its); got != "ds1/v.mp4 ds1/child/w.mp4" {
		t.Fatalf("items: %s", got)
	}
	if p.Meta == nil || p.Provenance["video_project_name"] != "proj" {
		t.Fatalf("project: %+v", p.Provenance)
	}
	if its[0].AnnotationPath != "s3://"+b+"/p/proj/ds1/ann/v.json" || its[1].AnnotationPath != "s3://"+b+"/p/proj/ds1/datasets/child/ann/w.mp4.json" {
		t.Fatalf("annotations: %s, %s", its[0].AnnotationPath, its[1].AnnotationPath)
	}
	if fmt.Sprint(its[0].Provenance["video_id"], its[0].Provenance["video_dataset_id"], its[0].Provenance["video_project_id"]) != "7 3 1" {
		t.Fatalf("provenance: %v", its[0].Provenance)
	}
	srv.Put(t, b, "p/proj/ds1/datasets/child/ann/w.mp4.json", []byte(`{"frames": 3}`))
	if _, err := its[1].LoadAnnotation(context.Background()); err == nil || !strings.Contains(err.Error(), its[1].AnnotationPath) {
		t.Fatalf("a bad annotation: %v, want its s3:// path named", err)
	}
}

// A body that pauses longer than a minute, but less than the configured
// timeout (source.timeout_s), is read on, not dropped and asked for again:
// the configured stall watch is the only timer on a body read.
func TestBodyPauseWithinTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("pauses a read for over a minute")
	}
	b := srv.Bucket(t)
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	srv.Put(t, b, "in/v.mp4", data)
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	p.StallFor = 65 * time.Second // beyond the fixed 60 s body timeout there was
	var first atomic.Bool
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v.mp4") && first.CompareAndSwap(false, true) {
			return s3test.Stall
		}
		return s3test.Pass
	}
	s := s3Source(t, "s3://"+b+"/in", p.URL, 0, 90*time.Second)
	var its []*core.Item
	if err := s.Items(context.Background(), func(it *core.Item) error { its = append(its, it); return nil }); err != nil || len(its) != 1 {
		t.Fatalf("items %d, %v", len(its), err)
	}
	in, err := its[0].Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	got, err := io.ReadAll(in.Options.Input)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	gets := p.Calls(http.MethodGet, func(path string) bool { return strings.HasSuffix(path, "/v.mp4") })
	if first := 1; p.Released() != 0 || gets > first+(len(data)>>16) {
		t.Fatalf("the paused body was dropped (%d released, %d GETs)", p.Released(), gets)
	}
}

// A store that says it is a source is a source type through this package:
// the registry builds it from the store's config (source defaults).
func TestStoreIsASource(t *testing.T) {
	b := srv.Bucket(t)
	srv.Put(t, b, "in/a.mp4", []byte("x"))
	spec, ok := registry.Lookup(registry.Source, "s3")
	if !ok {
		t.Fatalf("no source type s3 (registered: %v)", registry.Names(registry.Source))
	}
	conf := spec.Config(registry.Source).(*s3store.Config)
	if conf.TimeoutS != 60 {
		t.Fatalf("a source's timeout_s defaults to %d, want 60", conf.TimeoutS)
	}
	conf.URL, conf.Endpoint = "s3://"+b+"/in", srv.Endpoint
	srv.Env(t)
	src, err := registry.NewSource(context.Background(), spec, conf, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	its, _, err := list(src.(*Source))
	if err != nil || ids(its) != "ds0/a.mp4" || !strings.HasPrefix(src.Describe(), "s3 s3://"+b+"/in") {
		t.Fatalf("%s: items %s, %v", src.Describe(), ids(its), err)
	}
}

// A body that stalls on every resume ends the read with an error that
// still carries the store's stall error, so the run sees the server is gone
// (core.Unreachable) and stops, rather than failing each video in turn.
func TestStalledReadIsUnreachable(t *testing.T) {
	b := srv.Bucket(t)
	srv.Put(t, b, "in/v.mp4", make([]byte, 200<<10))
	p := s3test.NewProxy(srv.Endpoint)
	defer p.Close()
	p.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v.mp4") {
			return s3test.Stall
		}
		return s3test.Pass
	}
	s := s3Source(t, "s3://"+b+"/in", p.URL, 0, 300*time.Millisecond)
	var its []*core.Item
	if err := s.Items(context.Background(), func(it *core.Item) error { its = append(its, it); return nil }); err != nil || len(its) != 1 {
		t.Fatalf("items %d, %v", len(its), err)
	}
	in, err := its[0].Fetch(context.Background())
	if err == nil {
		defer in.Release()
		_, err = io.ReadAll(in.Options.Input)
	}
	var stalled *stall.Error
	if !errors.As(err, &stalled) || !core.Unreachable(err) {
		t.Fatalf("read of a stalled body: %v (%T); want it to wrap the store's stall error", err, err)
	}
}
