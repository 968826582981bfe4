package storesink

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/sinks/sinktest"
	localstore "github.com/vpipe/vpipe/stores/local"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

// Every registered store is a sink type through this package: a sink built
// by the registry from a store's config writes the layout where that config
// says (a folder, a bucket prefix).
func TestStoresAreSinks(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, name string, set func(conf any)) {
		spec, ok := registry.Lookup(registry.Sink, name)
		if !ok {
			t.Fatalf("no sink type %q (registered: %v)", name, registry.Names(registry.Sink))
		}
		conf := spec.Config(registry.Sink)
		set(conf)
		sk, err := registry.NewSink(ctx, spec, conf, nil, registry.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		defer sk.Close()
		if _, err := sk.Begin(ctx, sinktestMeta(t), nil); err != nil {
			t.Fatal(err)
		}
		if err := sk.Put(ctx, sinktest.Image([]string{"ds0", "v.mp4"}, "v.mp4_frame_0.png", 10, 0)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "out")
	write(t, "local", func(conf any) { conf.(*localstore.Config).Path, conf.(*localstore.Config).Fsync = dir, true })
	if _, err := os.Stat(filepath.Join(dir, "ds0", "datasets", "v.mp4", "img", "v.mp4_frame_0.png")); err != nil {
		t.Fatal(err)
	}
	bucket := srv.Bucket(t)
	srv.Env(t)
	write(t, "s3", func(conf any) {
		c := conf.(*s3store.Config)
		c.URL, c.Endpoint = "s3://"+bucket+"/p", srv.Endpoint
	})
	if _, ok := srv.Tree(t, bucket, "p")["ds0/datasets/v.mp4/img/v.mp4_frame_0.png"]; !ok {
		t.Fatalf("the S3 sink wrote %v", srv.Keys(t, bucket, ""))
	}
}
