package storesink

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/s3conn"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/sinks/sinktest"
	"github.com/vpipe/vpipe/store"
	s3store "github.com/vpipe/vpipe/stores/s3"
)

var srv *s3test.Server

func TestMain(m *testing.M) { os.Exit(s3test.Main(m, &srv)) }

// s3Sink is the layout on an S3 store; its store is at hand for the tests
// that reach into it (a change between read and write, page sizes).
type s3Sink struct {
	core.Sink
	st *s3store.Store
}

func open(t *testing.T, url, endpoint string) s3Sink {
	t.Helper()
	srv.Env(t)
	return openAsIs(t, url, endpoint)
}

// openAsIs opens with the credentials the environment holds.
func openAsIs(t *testing.T, url, endpoint string) s3Sink {
	t.Helper()
	c, err := s3conn.New(context.Background(), s3conn.Options{URL: url, Endpoint: endpoint, PathStyle: true, MaxBackoff: 20e6})
	if err != nil {
		t.Fatal(err)
	}
	st := s3store.New(c)
	sk, err := New(context.Background(), st, nil, registry.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return s3Sink{Sink: sk, st: st}
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		bucket := srv.Bucket(t)
		// Writes go through a proxy that refuses the PUTs of blocked keys.
		var mu sync.Mutex
		blocked := map[string]bool{}
		px := s3test.NewProxy(srv.Endpoint)
		t.Cleanup(px.Close)
		px.Rule = func(r *http.Request) s3test.Fault {
			mu.Lock()
			defer mu.Unlock()
			if r.Method == http.MethodPut && blocked[r.URL.Path] {
				return s3test.SlowDown
			}
			return s3test.Pass
		}
		return &sinktest.Target{
			Open: func(t *testing.T) core.Sink { return open(t, "s3://"+bucket+"/proj/out", px.URL) },
			Block: func(t *testing.T, path string) func() {
				k := "/" + bucket + "/proj/out/" + path
				mu.Lock()
				blocked[k] = true
				mu.Unlock()
				return func() {
					mu.Lock()
					delete(blocked, k)
					mu.Unlock()
				}
			},
			Remove: func(t *testing.T, path string) {
				if _, err := srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("proj/out/" + path)}); err != nil {
					t.Fatal(err)
				}
			},
			Tree: func(t *testing.T) map[string][]byte { return srv.Tree(t, bucket, "proj/out") },
			Outside: func(t *testing.T) []string {
				var out []string
				for _, k := range srv.Keys(t, bucket, "") {
					if !strings.HasPrefix(k, "proj/out/") {
						out = append(out, k)
					}
				}
				return out
			},
		}
	})
}

// A wrong secret fails at Begin with an error naming the bucket and the
// credentials, and without the secret.
func TestWrongSecret(t *testing.T) {
	bucket := srv.Bucket(t)
	srv.Env(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-0123456789")
	s := openAsIs(t, "s3://"+bucket+"/p", srv.Endpoint)
	_, err := s.Begin(context.Background(), nil, nil)
	if err == nil {
		t.Fatal("Begin with a wrong secret succeeded")
	}
	msg := err.Error()
	for _, w := range []string{bucket, "SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not name %q", msg, w)
		}
	}
	if strings.Contains(msg, "not-the-secret") || strings.Contains(msg, srv.Secret) {
		t.Errorf("error shows a secret: %s", msg)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}

// meta.json changed by another writer (another shard) between this run's read
// and its write: the conditional PUT is refused, Begin reads and merges again,
// and meta.json holds both writers' classes (no lost update). A writer that
// changes it every time makes Begin give up with an error, leaving theirs.
func TestMetaConcurrentChange(t *testing.T) {
	defer func(b time.Duration) { store.CASBudget = b }(store.CASBudget)
	store.CASBudget = 300 * time.Millisecond // the rounds are paced: a short budget ends the last case
	bucket := srv.Bucket(t)
	url := "s3://" + bucket + "/p"
	ctx := context.Background()
	if _, err := open(t, url, srv.Endpoint).Begin(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	theirs := `{"classes":[{"title":"theirs","shape":"rectangle","color":"#0000FF","geometry_config":{}}],"tags":[]}`
	for _, existing := range []bool{true, false} {
		if !existing {
			url = "s3://" + bucket + "/fresh"
		}
		s := open(t, url, srv.Endpoint)
		key := strings.TrimPrefix(url, "s3://"+bucket+"/") + "/meta.json"
		calls := 0
		s.st.BeforeUpdatePut = func() {
			if calls++; calls == 1 {
				srv.Put(t, bucket, key, []byte(theirs))
			}
		}
		m, err := s.Begin(ctx, sinktestMeta(t), nil)
		if err != nil || calls != 2 || len(m.Classes) != 2 {
			t.Fatalf("existing=%v: Begin after a concurrent change: %v (%d rounds, %v)", existing, err, calls, m)
		}
		got := string(srv.Tree(t, bucket, strings.TrimSuffix(key, "/meta.json"))["meta.json"])
		if !strings.Contains(got, `"theirs"`) || !strings.Contains(got, `"ours"`) {
			t.Fatalf("existing=%v: meta.json lost a writer's class: %s", existing, got)
		}
	}
	s := open(t, "s3://"+bucket+"/busy", srv.Endpoint)
	n := 0
	s.st.BeforeUpdatePut = func() {
		n++
		srv.Put(t, bucket, "busy/meta.json", []byte(strings.Replace(theirs, "theirs", fmt.Sprintf("theirs%d", n), 1)))
	}
	_, err := s.Begin(ctx, sinktestMeta(t), nil)
	if err == nil || !strings.Contains(err.Error(), "other writers") || !strings.Contains(err.Error(), "busy/meta.json") {
		t.Fatalf("Begin against a writer that always changes meta.json: %v", err)
	}
	if got := string(srv.Tree(t, bucket, "busy")["meta.json"]); !strings.Contains(got, fmt.Sprintf("theirs%d", n)) {
		t.Fatalf("meta.json is %s, want the other writer's last", got)
	}
}

// Existing reads every page of the listing.
func TestExistingPages(t *testing.T) {
	bucket := srv.Bucket(t)
	s := open(t, "s3://"+bucket+"/p", srv.Endpoint)
	s.st.C.PageSize = 3
	ctx := context.Background()
	ds := []string{"ds0", "v.mp4"}
	for i := 0; i < 10; i++ {
		if err := s.Put(ctx, sinktest.Image(ds, fmt.Sprintf("v.mp4_frame_%02d.png", i), 10, i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Existing(ctx, ds)
	if err != nil || len(got) != 10 {
		t.Fatalf("Existing over pages of 3: %d names, %v", len(got), err)
	}
}
