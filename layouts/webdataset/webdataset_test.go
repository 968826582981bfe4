package webdataset_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/wdstest"
	"github.com/vpipe/vpipe/layouts/webdataset"
	localstore "github.com/vpipe/vpipe/stores/local"
)

var opts = webdataset.Options{ShardSize: 4, Split: func(ds []string, video string) string {
	if video == "d.mov" {
		return "val"
	}
	return "train"
}}

// The same images put in any order, from several goroutines, give
// byte-identical shards and index: videos as a walk of the source folders
// orders them (dataset path then name, name by name), frames by index.
func TestDeterministicOrder(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	want := reference(t, opts, imgs)
	if got := keysOf(want); strings.Join(got, " ") != "meta.json train/index.parquet train/shard-000000.tar train/shard-000001.tar train/shard-000002.tar train/shard-000003.tar train/shard-000004.tar train/shard-000005.tar val/index.parquet val/shard-000000.tar val/shard-000001.tar" {
		t.Fatalf("files: %q", got)
	}
	for seed := int64(1); seed <= 2; seed++ {
		root := t.TempDir()
		s := newSink(t, localstore.New(root), opts)
		wdstest.PutAll(t, s, wdstest.Shuffled(imgs, seed), 4)
		closeSink(t, s)
		sameTree(t, published(t, root), want)
	}
	var members []string
	for _, k := range keysOf(want) {
		if strings.HasPrefix(k, "train/shard-") {
			members = append(members, wdstest.Keys(t, want[k])...)
		}
	}
	var order []string
	for _, m := range members {
		if strings.HasSuffix(m, ".json") {
			order = append(order, strings.TrimSuffix(m, ".json"))
		}
	}
	wantOrder := []string{
		"ds0/a%2Emp4/a%2Emp4_frame_000", "ds0/a%2Emp4/a%2Emp4_frame_007", "ds0/a%2Emp4/a%2Emp4_frame_014", "ds0/a%2Emp4/a%2Emp4_frame_021", "ds0/a%2Emp4/a%2Emp4_frame_028",
		"ds0/b_1%2Emp4/b_1%2Emp4_frame_003", "ds0/b_1%2Emp4/b_1%2Emp4_frame_004", "ds0/b_1%2Emp4/b_1%2Emp4_frame_005",
		"ds0/child/c%2Ev2%2Emp4/c%2Ev2%2Emp4_frame_010", "ds0/child/c%2Ev2%2Emp4/c%2Ev2%2Emp4_frame_020", "ds0/child/c%2Ev2%2Emp4/c%2Ev2%2Emp4_frame_030", "ds0/child/c%2Ev2%2Emp4/c%2Ev2%2Emp4_frame_040",
	}
	for _, f := range []int{0, 100, 200, 300, 400, 500, 600, 700, 800} {
		wantOrder = append(wantOrder, fmt.Sprintf("ds1/e%%2Emkv/e%%2Emkv_frame_%03d", f))
	}
	if strings.Join(order, "\n") != strings.Join(wantOrder, "\n") {
		t.Fatalf("samples in the shards:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(wantOrder, "\n"))
	}
}

// A run that stops after k samples (its Close assembles what it has) and is
// run again rewrites only the shard that was open, adds the rest, and ends
// with the shards of one plain run; a third run writes nothing at all.
func TestResumeRewritesOnlyOpenShard(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	train := imgs[:0:0]
	for _, img := range imgs {
		if opts.Split(img.Dataset[:len(img.Dataset)-1], img.Dataset[len(img.Dataset)-1]) == "train" {
			train = append(train, img)
		}
	}
	want := reference(t, opts, train)
	root := t.TempDir()
	first := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, first, train[:10], 1) // shards 0 and 1 full, shard 2 open with 2
	closeSink(t, first)
	st := countWrites(localstore.New(root))
	again := newSink(t, st, opts)
	rest := missing(t, again, train)
	if len(rest) != len(train)-10 {
		t.Fatalf("the re-run would put %d images, want %d", len(rest), len(train)-10)
	}
	wdstest.PutAll(t, again, rest, 2)
	closeSink(t, again)
	sameTree(t, published(t, root), want)
	if got := strings.Join(st.shardPuts(), " "); got != "train/shard-000002.tar train/shard-000003.tar train/shard-000004.tar train/shard-000005.tar" {
		t.Fatalf("the resumed run put shards %s; want the open one (2) and the new ones", got)
	}
	st = countWrites(localstore.New(root))
	third := newSink(t, st, opts)
	if rest := missing(t, third, train); len(rest) != 0 {
		t.Fatalf("a re-run of a finished run would put %d images", len(rest))
	}
	closeSink(t, third)
	if len(st.puts)+len(st.updates)+len(st.deletes) != 0 {
		t.Fatalf("a re-run with nothing to do wrote: puts %v, updates %v, deletes %v", st.puts, st.updates, st.deletes)
	}
}

// A run killed before its Close (no shard written) leaves its samples
// staged; the re-run skips them, and its Close shards everything.
func TestKilledRunResumes(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	want := reference(t, opts, imgs)
	root := t.TempDir()
	killed := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, killed, wdstest.Shuffled(imgs, 3)[:15], 3) // never closed
	again := newSink(t, localstore.New(root), opts)
	rest := missing(t, again, imgs)
	if len(rest) != len(imgs)-15 {
		t.Fatalf("the re-run would put %d images, want %d", len(rest), len(imgs)-15)
	}
	wdstest.PutAll(t, again, rest, 2)
	closeSink(t, again)
	sameTree(t, published(t, root), want)
}

// Two writers of one split (shards of a run, queue workers) each put part of
// the videos and close at once: the shards end byte-identical to one plain
// run's, whichever finisher assembles last.
func TestConcurrentFinishers(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	want := reference(t, opts, imgs)
	for round := 0; round < 3; round++ {
		root := t.TempDir()
		var parts [2][]*core.Image
		for _, img := range imgs {
			i := 0
			if strings.Contains(strings.Join(img.Dataset, "/"), "b_1") || strings.Contains(img.Dataset[len(img.Dataset)-1], "e.") {
				i = 1
			}
			parts[i] = append(parts[i], img)
		}
		var wg sync.WaitGroup
		for i := range parts {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s := newSink(t, localstore.New(root), opts)
				wdstest.PutAll(t, s, wdstest.Shuffled(parts[i], int64(round)), 2)
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		sameTree(t, published(t, root), want)
	}
}

// A video rolled back after another writer's assembly took its frames into
// a shard (Delete) is left out by the next assembly: the shards end as a
// run without that video.
func TestRollbackAfterSharded(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	var keep, failed []*core.Image
	for _, img := range imgs {
		if img.Dataset[len(img.Dataset)-1] == "b_1.mp4" {
			failed = append(failed, img)
		} else {
			keep = append(keep, img)
		}
	}
	want := reference(t, opts, keep)
	root := t.TempDir()
	s := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, s, imgs, 2)
	other := newSink(t, localstore.New(root), opts)
	if err := other.Assemble(ctx, "train"); err != nil { // another finisher
		t.Fatal(err)
	}
	var names []string
	for _, img := range failed {
		names = append(names, img.Name)
	}
	if err := s.Delete(ctx, failed[0].Dataset, names); err != nil {
		t.Fatal(err)
	}
	if have, err := s.Existing(ctx, failed[0].Dataset); err != nil || len(have) != 0 {
		t.Fatalf("Existing after the roll-back: %v, %v", have, err)
	}
	closeSink(t, s)
	sameTree(t, published(t, root), want)
}

// Shards are cut by bytes too: a shard takes samples while they fit in
// ShardBytes (the end blocks included); a sample larger than that is a
// shard alone.
func TestShardBytes(t *testing.T) {
	small := wdstest.Images(t, wdstest.Corpus[:1], 8, 6)                                                           // 5 samples of about 2.5 KB
	big := wdstest.Images(t, []wdstest.Video{{Dataset: []string{"ds0"}, Name: "z.mp4", Frames: []int{1}}}, 64, 64) // one of about 15 KB
	o := webdataset.Options{ShardBytes: 6 << 10}
	root := t.TempDir()
	s := newSink(t, localstore.New(root), o)
	wdstest.PutAll(t, s, append(small, big...), 1)
	closeSink(t, s)
	tree := published(t, root)
	var counts []string
	for _, k := range keysOf(tree) {
		if strings.Contains(k, "/shard-") {
			n := len(wdstest.Keys(t, tree[k])) / 2
			counts = append(counts, fmt.Sprint(n))
			if n > 1 && int64(len(tree[k])) > o.ShardBytes {
				t.Errorf("%s: %d bytes, over ShardBytes", k, len(tree[k]))
			}
		}
	}
	if got := strings.Join(counts, ","); got != "2,2,1,1" {
		t.Fatalf("samples per shard: %s, want 2,2,1,1", got)
	}
}

// Other shard options on a re-run relay the split as a plain run with
// those options would have it.
func TestOptionsChanged(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	o3 := opts
	o3.ShardSize = 3
	want := reference(t, o3, imgs)
	root := t.TempDir()
	s := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, s, imgs, 1)
	closeSink(t, s)
	again := newSink(t, localstore.New(root), o3)
	if rest := missing(t, again, imgs); len(rest) != 0 {
		t.Fatalf("%d images missing", len(rest))
	}
	closeSink(t, again)
	sameTree(t, published(t, root), want)
}

// An image put again with other meta (its frame index changed) replaces its
// copy in a shard, even when it now sorts into a later shard: the split ends
// as a plain run of the new images, with no key twice.
func TestPutAgainMoves(t *testing.T) {
	imgs := wdstest.Images(t, wdstest.Corpus, 8, 6)
	moved := *imgs[0]
	moved.Meta = map[string]any{}
	for k, v := range imgs[0].Meta {
		moved.Meta[k] = v
	}
	moved.Meta["frame_index"] = 999 // sorts after a.mp4's last frame, in shard 1
	now := append([]*core.Image{&moved}, imgs[1:]...)
	want := reference(t, opts, now)
	root := t.TempDir()
	s := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, s, imgs, 1)
	closeSink(t, s)
	again := newSink(t, localstore.New(root), opts)
	wdstest.PutAll(t, again, []*core.Image{&moved}, 1)
	closeSink(t, again)
	sameTree(t, published(t, root), want)
}
