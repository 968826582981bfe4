package azblob_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/vpipe/vpipe/internal/testenv/azuritetest"
	"github.com/vpipe/vpipe/internal/testenv/s3test"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/rangeread"
	"github.com/vpipe/vpipe/stores/azblob"
)

var ctx = context.Background()

// A real video read through store/rangeread (small doubling ranges, a seek
// to the tail and back as FFmpeg does for an MP4's moov) is the file's bytes,
// also when every third ranged GET is cut halfway and resumed; so is a Get
// whose body is cut.
func TestRangeReadVideo(t *testing.T) {
	want, err := os.ReadFile("../../testdata/videos/traffic.mp4")
	if err != nil {
		t.Fatal(err)
	}
	ctr := srv.Container(t)
	srv.Put(t, ctr, "raw/traffic.mp4", want)
	px := s3test.NewProxy(srv.Endpoint)
	t.Cleanup(px.Close)
	var gets atomic.Int64
	var cutWhole atomic.Bool // cut the next GET of the whole blob
	px.Rule = func(r *http.Request) s3test.Fault {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/traffic.mp4") {
			return s3test.Pass
		}
		if r.Header.Get("x-ms-range") == "" && r.Header.Get("Range") == "" && cutWhole.CompareAndSwap(true, false) {
			return s3test.Reset
		}
		if gets.Add(1)%3 == 0 {
			return s3test.Reset
		}
		return s3test.Pass
	}
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/raw", Endpoint: px.URL + "/" + azuritetest.Account})
	retry := func(f int, _ int64, err error) error {
		if f > 3 {
			return err
		}
		return nil
	}
	rr := rangeread.New(ctx, rangeread.FromStore(s, "traffic.mp4"), rangeread.Options{Size: int64(len(want)), Timeout: time.Minute,
		MinChunk: 4 << 10, MaxChunk: 32 << 10, Policy: rangeread.Policy{Open: retry, Read: retry}})
	defer rr.Close()
	tail := make([]byte, 1000)
	if _, err := rr.Seek(-1000, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rr, tail); err != nil || !bytes.Equal(tail, want[len(want)-1000:]) {
		t.Fatalf("the last 1000 bytes: %v", err)
	}
	if _, err := rr.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d of %d bytes, equal %v: %v", len(got), len(want), bytes.Equal(got, want), err)
	}
	if gets.Load() < 3 {
		t.Fatalf("%d ranged GETs: no cut was made", gets.Load())
	}
	// Get resumes a whole read cut halfway.
	cutWhole.Store(true)
	if b, found, err := s.Get(ctx, "traffic.mp4"); err != nil || !found || !bytes.Equal(b, want) || cutWhole.Load() {
		t.Fatalf("Get cut halfway: %d bytes, found %v, cut %v: %v", len(b), found, !cutWhole.Load(), err)
	}
}

// Update gives up, naming the blob, when another writer changes it between
// every read and write (If-Match refused), or creates it first
// (If-None-Match: * refused); the other writer's bytes stay.
func TestUpdateGivesUp(t *testing.T) {
	defer func(b time.Duration) { store.CASBudget = b }(store.CASBudget)
	store.CASBudget = 300 * time.Millisecond // the rounds are paced: a short budget ends it
	ctr := srv.Container(t)
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/p"})
	for _, key := range []string{"new.json", "x.json"} {
		n := 0
		s.BeforeUpdatePut = func() {
			n++
			srv.Put(t, ctr, "p/"+key, []byte(strings.Repeat("o", n)))
		}
		err := s.Update(ctx, key, func([]byte, bool) ([]byte, error) { return []byte("mine"), nil })
		if err == nil || !strings.Contains(err.Error(), "other writers") || !strings.Contains(err.Error(), "azblob://"+ctr+"/p/"+key) {
			t.Fatalf("Update of %s against a writer that always comes first: %v", key, err)
		}
		if b, _, _ := s.Get(ctx, key); string(b) != strings.Repeat("o", n) {
			t.Fatalf("%s is %q, want the other writer's last", key, b)
		}
	}
}

// A Put cut off halfway on every attempt fails, naming the blob, and leaves
// the old blob, which Holds recognises; Holds says no to other bytes.
func TestCutPutAndHolds(t *testing.T) {
	ctr := srv.Container(t)
	f := srv.NewFaults(t, ctr, "pre")
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/pre", Endpoint: f.Endpoint, MaxAttempts: 2})
	old, next := bytes.Repeat([]byte("o"), 5000), bytes.Repeat([]byte("n"), 5000)
	if err := s.Put(ctx, "a.png", old); err != nil {
		t.Fatal(err)
	}
	restore := f.Cut(t, "a.png")
	err := s.Put(ctx, "a.png", next)
	restore()
	if err == nil || !strings.Contains(err.Error(), "PutBlob azblob://"+ctr+"/pre/a.png") {
		t.Fatalf("a Put cut on each attempt: %v", err)
	}
	if b, _, _ := s.Get(ctx, "a.png"); !bytes.Equal(b, old) {
		t.Fatalf("after a cut Put the blob holds %.10q", b)
	}
	h := s.Features().Holds
	if !h(ctx, "a.png", old) || h(ctx, "a.png", next) || h(ctx, "missing.png", old) {
		t.Fatal("Holds: want true for the stored bytes only")
	}
}

// An upload that gets no answer at all is given up after timeout_s on each
// attempt, with a message that says so and names the blob and the settings.
func TestNoAnswer(t *testing.T) {
	ctr := srv.Container(t)
	f := srv.NewFaults(t, ctr, "pre")
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/pre", Endpoint: f.Endpoint, MaxAttempts: 2, Timeout: 300 * time.Millisecond})
	defer f.Freeze(t, "a.png")()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "a.png", []byte("x")) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "azblob://"+ctr+"/pre/a.png") ||
			!strings.Contains(err.Error(), "timeout_s") {
			t.Fatalf("a Put to a frozen server: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a Put to a frozen server did not give up")
	}
}

// The credential chain: the account and key variables work against an
// endpoint, and so does a connection string's SAS (within its rights); a wrong key, a missing container and no account at all are
// errors that say what to do, in one line.
func TestCredentials(t *testing.T) {
	ctr := srv.Container(t)
	srv.Env(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", azuritetest.Account)
	t.Setenv("AZURE_STORAGE_KEY", azuritetest.Key)
	s, err := azblob.New(azblob.Options{URL: "azblob://" + ctr, Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check with AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY: %v", err)
	}
	if err := s.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	missing, _ := azblob.New(azblob.Options{URL: "azblob://nothere", Endpoint: srv.Endpoint})
	if err := missing.Open(ctx); err == nil || !strings.Contains(err.Error(), "ListBlobs azblob://nothere: container nothere does not exist") ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open of a missing container: %v", err)
	}
	t.Setenv("AZURE_STORAGE_KEY", strings.Repeat("A", 86)+"==")
	wrong, _ := azblob.New(azblob.Options{URL: "azblob://" + ctr, Endpoint: srv.Endpoint, MaxAttempts: 1})
	if err := wrong.Check(ctx); err == nil || !strings.Contains(err.Error(), "access refused") || !strings.Contains(err.Error(), "azblob://"+ctr) ||
		strings.Contains(err.Error(), strings.Repeat("A", 86)) {
		t.Fatalf("Check with a wrong key: %v", err)
	}
	t.Setenv("AZURE_STORAGE_ACCOUNT", "")
	t.Setenv("AZURE_STORAGE_KEY", "")
	// A connection string holding a container SAS, used against an endpoint.
	cred, _ := container.NewSharedKeyCredential(azuritetest.Account, azuritetest.Key)
	q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour), ContainerName: ctr,
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String()}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "BlobEndpoint=http://elsewhere.invalid/x;SharedAccessSignature="+q.Encode())
	ro, err := azblob.New(azblob.Options{URL: "azblob://" + ctr, Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if b, _, err := ro.Get(ctx, "k"); err != nil || string(b) != "v" {
		t.Fatalf("Get with a read-only SAS: %q, %v", b, err)
	}
	if err := ro.Put(ctx, "k2", []byte("v")); err == nil || !strings.Contains(err.Error(), "access refused") {
		t.Fatalf("Put with a read-only SAS: %v", err)
	}
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	if _, err := azblob.New(azblob.Options{URL: "azblob://" + ctr}); err == nil || !strings.Contains(err.Error(), "AZURE_STORAGE_CONNECTION_STRING") {
		t.Fatalf("New without any credentials: %v", err)
	}
}

// The registered spec: defaults by role, and the config's checks.
func TestSpec(t *testing.T) {
	spec, ok := registry.Lookup(registry.Source, "azblob")
	if !ok {
		t.Fatal("azblob is not registered as a source")
	}
	if c := spec.Config(registry.Source).(*azblob.Config); c.TimeoutS != 60 || c.MaxAttempts != 8 {
		t.Fatalf("source defaults: %+v", c)
	}
	c := spec.Config(registry.Sink).(*azblob.Config)
	c.URL = "azblob://videos/raw/"
	if ps := spec.Check(c, registry.CheckEnv{}); c.TimeoutS != 30 || len(ps) != 0 || spec.Where(c) != "azblob://videos/raw" {
		t.Fatalf("sink defaults %+v: problems %v, where %q", c, ps, spec.Where(c))
	}
	for url, want := range map[string]string{
		"s3://b/p": "want azblob://", "azblob://Videos/p": "lowercase", "azblob://ab": "lowercase", "azblob://a--b/p": "single hyphens",
		"azblob://u:secret@videos/p": "no credentials", "azblob://videos/p?sig=x": "no credentials", "azblob://videos/a//b": "empty",
	} {
		c.URL = url
		ps := spec.Check(c, registry.CheckEnv{})
		if len(ps) != 1 || ps[0].Key != "url" || !strings.Contains(ps[0].Msg, want) || strings.Contains(ps[0].Msg, "secret") || strings.Contains(ps[0].Msg, "sig=") {
			t.Errorf("url %q: %v, want a problem saying %q", url, ps, want)
		}
	}
	c.URL, c.Endpoint, c.MaxAttempts, c.TimeoutS = "azblob://videos", "http://acct:key@127.0.0.1:1", 0, 0
	if ps := spec.Check(c, registry.CheckEnv{}); len(ps) != 3 || strings.Contains(ps[0].Msg, "key@") {
		t.Fatalf("bad endpoint, max_attempts, timeout_s: %v", ps)
	}
}

// List gives every blob with its size, and leaves out the names of a store's
// own files (temporaries and lock files another store may have left).
func TestListLeavesOutOwnFiles(t *testing.T) {
	ctr := srv.Container(t)
	for _, name := range []string{"p/a.png", "p/d/" + store.TmpPrefix + "x", "p/d/" + store.LockPrefix + "y", "p/d/b.json"} {
		srv.Put(t, ctr, name, []byte(name))
	}
	got := map[string]int64{}
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/p"})
	if err := s.List(ctx, "", func(k string, n int64) error { got[k] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a.png"] != 7 || got["d/b.json"] != 10 {
		t.Fatalf("List: %v", got)
	}
}

// Delete removes many blobs several at a time (a video's roll-back is
// hundreds of objects), not one after another.
func TestDeleteInParallel(t *testing.T) {
	ctr := srv.Container(t)
	px := s3test.NewProxy(srv.Endpoint)
	defer px.Close()
	var now, most atomic.Int32
	px.Rule = func(r *http.Request) s3test.Fault {
		if r.Method == http.MethodDelete {
			n := now.Add(1)
			defer now.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
		}
		return s3test.Pass
	}
	s := open(t, azblob.Options{URL: "azblob://" + ctr + "/p", Endpoint: px.URL + "/" + azuritetest.Account})
	var keys []string
	for i := range 40 {
		k := "img/" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + string(rune('0'+i/26)) + ".png"
		srv.Put(t, ctr, "p/"+k, []byte("x"))
		keys = append(keys, k)
	}
	if err := s.Delete(ctx, append(keys, "img/missing.png")...); err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m < 8 {
		t.Errorf("at most %d Delete Blob calls at once, want several (16)", m)
	}
	var left []string
	s.List(ctx, "", func(k string, _ int64) error { left = append(left, k); return nil })
	if len(left) != 0 {
		t.Fatalf("left after Delete: %v", left)
	}
}
