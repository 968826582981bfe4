package s3_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/storetest"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

var srv *s3test.Server

func TestMain(m *testing.M) { os.Exit(s3test.Main(m, &srv)) }

// TestStore runs the store suite on a versitygw bucket prefix, through a
// proxy that refuses or cuts the PUTs of the keys a test names.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *storetest.Target {
		bucket := srv.Bucket(t)
		var mu sync.Mutex
		faults := map[string]s3test.Fault{}
		px := s3test.NewProxy(srv.Endpoint)
		t.Cleanup(px.Close)
		px.Rule = func(r *http.Request) s3test.Fault {
			mu.Lock()
			defer mu.Unlock()
			if r.Method == http.MethodPut {
				return faults[r.URL.Path]
			}
			return s3test.Pass
		}
		fault := func(key string, f s3test.Fault) func() {
			p := "/" + bucket + "/pre/fix/" + key
			mu.Lock()
			faults[p] = f
			mu.Unlock()
			return func() {
				mu.Lock()
				delete(faults, p)
				mu.Unlock()
			}
		}
		return &storetest.Target{
			Open: func(t *testing.T) store.Store {
				srv.Env(t)
				c, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://" + bucket + "/pre/fix", Endpoint: px.URL,
					PathStyle: true, MaxAttempts: 3, MaxBackoff: 20e6})
				if err != nil {
					t.Fatal(err)
				}
				c.PageSize = 4 // listings of several pages
				return s3store.New(c)
			},
			Block: func(t *testing.T, key string) func() { return fault(key, s3test.SlowDown) },
			Cut:   func(t *testing.T, key string) func() { return fault(key, s3test.Reset) },
		}
	})
}

// Update gives up, naming the object, when another writer changes it
// between every read and write; the other writer's bytes stay.
func TestUpdateGivesUp(t *testing.T) {
	defer func(b time.Duration) { store.CASBudget = b }(store.CASBudget)
	store.CASBudget = 300 * time.Millisecond // the rounds are paced: a short budget ends it
	bucket := srv.Bucket(t)
	srv.Env(t)
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: "s3://" + bucket + "/p", Endpoint: srv.Endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	s := s3store.New(c)
	n := 0
	s.BeforeUpdatePut = func() {
		n++
		srv.Put(t, bucket, "p/x.json", []byte(strings.Repeat("o", n)))
	}
	err = s.Update(context.Background(), "x.json", func([]byte, bool) ([]byte, error) { return []byte("mine"), nil })
	if err == nil || !strings.Contains(err.Error(), "other writers") || !strings.Contains(err.Error(), "s3://"+bucket+"/p/x.json") {
		t.Fatalf("Update against a writer that always comes first: %v", err)
	}
	if b, _, _ := s.Get(context.Background(), "x.json"); string(b) != strings.Repeat("o", n) {
		t.Fatalf("x.json is %q, want the other writer's last", b)
	}
}

// Built for sinks[1], the store names sinks[1].url in its messages.
func TestKeyNamesSection(t *testing.T) {
	spec, _ := registry.Lookup(registry.Sink, "s3")
	conf, _ := spec.Locate("s3://" + srv.Bucket(t) + "/p")
	conf.(*s3store.Config).Endpoint = srv.Endpoint
	srv.Env(t)
	st, err := spec.NewStore(context.Background(), conf, registry.Deps{Role: registry.Sink, Prefix: "sinks[1]"})
	if err != nil {
		t.Fatal(err)
	}
	if k := st.Features().Key; k != "sinks[1].url" {
		t.Fatalf("Features().Key = %q, want sinks[1].url", k)
	}
}
