// Package storetest is the conformance suite every store.Store passes (as
// rclone's fstests run against every backend): Put and Get, ranged reads
// (and the resumable reader over them),
// atomic visibility, concurrent Puts, listing across pages, Update under six
// concurrent writers losing nothing and sixteen at one moment each succeeding
// at once, Delete of missing keys, hostile names,
// and faults from below the store where its Target can make them. A store's
// test file runs it in one call.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/store"
	"github.com/vpipe/vpipe/store/rangeread"
)

// Target is a fresh, empty root and ways to reach it.
type Target struct {
	// Open makes a store on the root; called again, it is another writer
	// (another process) on the same root, admitted (Features.Admit) as a
	// shard is where the store has writer locks. Stores that page their
	// listings should be opened with small pages.
	Open func(t *testing.T) store.Store
	// Block makes every Put of key fail from below the store (a full disk, a
	// refused PUT) until unblock is called; nil when the target cannot.
	Block func(t *testing.T, key string) (unblock func())
	// Cut makes Puts of key cut off halfway (a connection reset mid-upload)
	// until restore is called; nil when the target cannot.
	Cut func(t *testing.T, key string) (restore func())
}

// Run runs the suite; newTarget is called once per test.
func Run(t *testing.T, newTarget func(t *testing.T) *Target) {
	tests := []struct {
		name string
		fn   func(*testing.T, *Target)
	}{
		{"PutGet", putGet},
		{"Range", rangeRead},
		{"AtomicVisibility", atomicVisibility},
		{"ConcurrentPuts", concurrentPuts},
		{"ListPages", listPages},
		{"UpdateConcurrent", updateConcurrent},
		{"UpdateContended", updateContended},
		{"DeleteMissing", deleteMissing},
		{"HostileNames", hostileNames},
		{"Faults", faults},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newTarget(t)) })
	}
}

var ctx = context.Background()

func put(t *testing.T, s store.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func get(t *testing.T, s store.Store, key string) ([]byte, bool) {
	t.Helper()
	b, found, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	return b, found
}

func list(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	var out []string
	var mu sync.Mutex
	if err := s.List(ctx, prefix, func(k string, _ int64) error {
		mu.Lock()
		out = append(out, k)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatalf("List %s: %v", prefix, err)
	}
	sort.Strings(out)
	return out
}

// sizes lists the keys under prefix with the sizes List gives.
func sizes(t *testing.T, s store.Store, prefix string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	var mu sync.Mutex
	if err := s.List(ctx, prefix, func(k string, n int64) error {
		mu.Lock()
		out[k] = n
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatalf("List %s: %v", prefix, err)
	}
	return out
}

// fill is n bytes that tell version v.
func fill(n, v int) []byte { return bytes.Repeat([]byte{byte('a' + v%26)}, n) }

func putGet(t *testing.T, tg *Target) {
	s := tg.Open(t)
	if b, found := get(t, s, "a/missing.json"); found || b != nil {
		t.Fatalf("Get of a missing key: found %v, %q", found, b)
	}
	put(t, s, "a/b/c.json", []byte(`{"v":1}`))
	put(t, s, "a/b/c.json", []byte(`{"v":2}`))
	if b, found := get(t, s, "a/b/c.json"); !found || string(b) != `{"v":2}` {
		t.Fatalf("Get after two Puts: %v %q", found, b)
	}
	put(t, s, "empty", nil)
	if got := sizes(t, s, ""); got["a/b/c.json"] != 7 || got["empty"] != 0 || len(got) != 2 {
		t.Fatalf("List sizes: %v, want a/b/c.json 7 and empty 0", got)
	}
	if b, found := get(t, s, "empty"); !found || len(b) != 0 {
		t.Fatalf("an empty object: %v %q", found, b)
	}
}

func rangeRead(t *testing.T, tg *Target) {
	s := tg.Open(t)
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	put(t, s, "v/video.mp4", data)
	for _, r := range [][2]int64{{0, 10}, {99_990, 10}, {12_345, 50_000}, {70_000, -1}, {5, 0}} {
		rc, err := s.NewRangeReader(ctx, "v/video.mp4", r[0], r[1])
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		end := int64(len(data))
		if r[1] >= 0 {
			end = r[0] + r[1]
		}
		if err != nil || !bytes.Equal(b, data[r[0]:end]) {
			t.Fatalf("range %v: %d bytes, %v", r, len(b), err)
		}
	}
	// The resumable reader works on any store through NewRangeReader.
	rr := rangeread.New(ctx, rangeread.FromStore(s, "v/video.mp4"), rangeread.Options{Size: int64(len(data)), Timeout: time.Minute,
		MinChunk: 1 << 10, MaxChunk: 16 << 10, Policy: rangeread.Policy{
			Open: func(_ int, _ int64, err error) error { return err },
			Read: func(f int, _ int64, err error) error {
				if f > 3 {
					return err
				}
				return nil
			}}})
	defer rr.Close()
	if b, err := io.ReadAll(rr); err != nil || !bytes.Equal(b, data) || rr.Fetched() != int64(len(data)) {
		t.Fatalf("rangeread over the store: %d bytes (fetched %d), %v", len(b), rr.Fetched(), err)
	}
}

// A reader never sees part of an object: every Get while another writer
// replaces it is one whole version.
func atomicVisibility(t *testing.T, tg *Target) {
	s, r := tg.Open(t), tg.Open(t)
	const size = 256 << 10
	put(t, s, "img/x.png", fill(size, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := 1; v <= 20; v++ {
			put(t, s, "img/x.png", fill(size, v))
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		b, found := get(t, r, "img/x.png")
		if !found || len(b) != size || !bytes.Equal(b, fill(size, int(b[0]-'a'))) {
			t.Fatalf("a read saw part of an object: found %v, %d bytes", found, len(b))
		}
	}
}

func concurrentPuts(t *testing.T, tg *Target) {
	var wg sync.WaitGroup
	var want []string
	for w := 0; w < 4; w++ {
		s := tg.Open(t)
		for i := 0; i < 8; i++ {
			key := fmt.Sprintf("ds/img/w%d_%02d.png", w, i)
			want = append(want, key)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Put(ctx, key, []byte(key)); err != nil {
					t.Errorf("Put %s: %v", key, err)
				}
			}()
		}
	}
	wg.Wait()
	s := tg.Open(t)
	sort.Strings(want)
	if got := list(t, s, "ds/"); !slices.Equal(got, want) {
		t.Fatalf("List after concurrent Puts: %v, want %v", got, want)
	}
	for _, k := range want {
		if b, _ := get(t, s, k); string(b) != k {
			t.Fatalf("%s holds %q", k, b)
		}
	}
}

// List reads every page, keys under sub-folders too, and nothing that only
// shares the prefix's leading characters.
func listPages(t *testing.T, tg *Target) {
	s := tg.Open(t)
	var want []string
	for i := 0; i < 23; i++ {
		k := fmt.Sprintf("p/img/%02d.png", i)
		if i%5 == 0 {
			k = fmt.Sprintf("p/datasets/c/img/%02d.png", i)
		}
		want = append(want, k)
		put(t, s, k, []byte("x"))
	}
	put(t, s, "pp/img/00.png", []byte("x"))
	put(t, s, "p.json", []byte("x"))
	sort.Strings(want)
	if got := list(t, s, "p/"); !slices.Equal(got, want) {
		t.Fatalf("List p/: %v, want %v", got, want)
	}
	if got := list(t, s, "nothing/"); len(got) != 0 {
		t.Fatalf("List of an empty prefix: %v", got)
	}
}

// Six writers (six store handles, as six shards) each add their entries to one
// small shared object through Update: no entry is lost. A writer that gives
// up (the store's bound on retries) wrote nothing and runs again.
func updateConcurrent(t *testing.T, tg *Target) {
	const writers, each = 6, 4
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		s := tg.Open(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				add(t, s, fmt.Sprintf("w%d-%d", w, i))
			}
		}()
	}
	wg.Wait()
	b, _ := get(t, tg.Open(t), "meta.json")
	var got []string
	if err := json.Unmarshal(b, &got); err != nil || len(got) != writers*each {
		t.Fatalf("after %d concurrent Updates: %d entries (%v): %s", writers*each, len(got), err, b)
	}
}

// Sixteen writers (as sixteen upload workers merging meta.json) each make
// one Update at the same moment: every one succeeds on its first call. A
// store that compares and swaps paces its rounds lost to the others (with
// no pause, the last writer loses round after round and gives up).
func updateContended(t *testing.T, tg *Target) {
	const writers = 16
	stores := make([]store.Store, writers)
	for w := range stores {
		stores[w] = tg.Open(t)
	}
	start := make(chan struct{})
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[w] = s.Update(ctx, "meta.json", func(old []byte, exists bool) ([]byte, error) {
				var l []string
				if exists {
					if err := json.Unmarshal(old, &l); err != nil {
						return nil, err
					}
				}
				return json.Marshal(append(l, fmt.Sprintf("w%d", w)))
			})
		}()
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Errorf("writer %d of %d: %v", w, writers, err)
		}
	}
	b, _ := get(t, tg.Open(t), "meta.json")
	var got []string
	if err := json.Unmarshal(b, &got); err != nil || len(got) != writers {
		t.Fatalf("after %d contended Updates: %d entries (%v): %s", writers, len(got), err, b)
	}
}

// add appends entry to the list in meta.json, again while the store gives up
// because other writers kept changing it.
func add(t *testing.T, s store.Store, entry string) {
	for try := 0; try < 20; try++ {
		err := s.Update(ctx, "meta.json", func(old []byte, exists bool) ([]byte, error) {
			var l []string
			if exists {
				if err := json.Unmarshal(old, &l); err != nil {
					return nil, err
				}
			}
			return json.Marshal(append(l, entry))
		})
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "other writers") {
			t.Errorf("Update: %v", err)
			return
		}
	}
	t.Errorf("Update of %s: gave up 20 times", entry)
}

func deleteMissing(t *testing.T, tg *Target) {
	s := tg.Open(t)
	if err := s.Delete(ctx, "never/was.png", "nor/this"); err != nil {
		t.Fatalf("Delete of missing keys: %v", err)
	}
	put(t, s, "d/img/a.png", []byte("a"))
	put(t, s, "d/ann/a.png.json", []byte("{}"))
	if err := s.Delete(ctx, "d/img/a.png", "d/img/a.png", "d/meta/a.png.json"); err != nil {
		t.Fatalf("Delete of a key twice and a missing one: %v", err)
	}
	if _, found := get(t, s, "d/img/a.png"); found {
		t.Fatal("a deleted key is still there")
	}
	if got := list(t, s, "d/"); !slices.Equal(got, []string{"d/ann/a.png.json"}) {
		t.Fatalf("List after Delete: %v", got)
	}
	// Emptied by Delete (a folder store removes the folders), then written again.
	if err := s.Delete(ctx, "d/ann/a.png.json"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "d/img/b.png", []byte("b"))
	if err := s.Update(ctx, "d/ann/b.png.json", func([]byte, bool) ([]byte, error) { return []byte("{}"), nil }); err != nil {
		t.Fatalf("Update in a folder emptied by Delete: %v", err)
	}
	if got := list(t, s, "d/"); !slices.Equal(got, []string{"d/ann/b.png.json", "d/img/b.png"}) {
		t.Fatalf("List after writing again: %v", got)
	}
}

// Names with spaces, non-ASCII letters, and the characters URLs and shells
// treat specially round-trip through Put, Get, List and Delete.
func hostileNames(t *testing.T, tg *Target) {
	s := tg.Open(t)
	names := []string{"a b.png", "ünïcødé 名前.png", "100%.png", "a+b=c&d.png", "q?x#y.png", "semi;colon,'quote\".png",
		"back`tick$(x).png", "~tilde", "-dash", "*star[1].png", "tab\tname.png", strings.Repeat("long", 50) + ".png"}
	var want []string
	for _, n := range names {
		k := "h/img/" + n
		want = append(want, k)
		put(t, s, k, []byte(n))
	}
	sort.Strings(want)
	if got := list(t, s, "h/"); !slices.Equal(got, want) {
		t.Fatalf("List of hostile names: %q, want %q", got, want)
	}
	for _, k := range want {
		if b, found := get(t, s, k); !found || "h/img/"+string(b) != k {
			t.Fatalf("Get %q: %v %q", k, found, b)
		}
	}
	if err := s.Delete(ctx, want...); err != nil {
		t.Fatal(err)
	}
	if got := list(t, s, "h/"); len(got) != 0 {
		t.Fatalf("left after Delete: %q", got)
	}
}

// A Put refused from below returns an error and leaves the object as it was;
// a Put cut off halfway leaves the old object or the new one, never part.
func faults(t *testing.T, tg *Target) {
	if tg.Block == nil && tg.Cut == nil {
		t.Skip("the target cannot make faults")
	}
	s := tg.Open(t)
	prev := fill(1000, 0)
	put(t, s, "f/img/a.png", prev)
	if tg.Block != nil {
		unblock := tg.Block(t, "f/img/a.png")
		if err := s.Put(ctx, "f/img/a.png", fill(1000, 1)); err == nil {
			t.Fatal("a Put refused from below returned nil")
		}
		unblock()
		if b, _ := get(t, s, "f/img/a.png"); !bytes.Equal(b, prev) {
			t.Fatalf("a refused Put changed the object: %.10q", b)
		}
	}
	if tg.Cut != nil {
		next := fill(200_000, 3)
		restore := tg.Cut(t, "f/img/a.png")
		err := s.Put(ctx, "f/img/a.png", next)
		restore()
		b, _ := get(t, s, "f/img/a.png")
		if !bytes.Equal(b, next) && (err == nil || !bytes.Equal(b, prev)) {
			t.Fatalf("a cut Put (error %v) left %d bytes", err, len(b))
		}
	}
}
