package supervisely_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vpipe/vpipe/shard"
	"github.com/vpipe/vpipe/stages"
)

// Three shards (separate sinks, as three processes have) start at once with
// no image project yet: they race to create it and its datasets, the losers
// meet the name clash and reuse the one just made, and the one project holds
// exactly what one plain run writes.
func TestShardsTogetherServer(t *testing.T) {
	c := conf(t)
	want := reference(t, c)
	s, src := seeded(t)
	// Hold the first three project lookups until all have come, so shards
	// find no project and race to create it.
	var mu sync.Mutex
	lists, all := 0, make(chan struct{})
	s.OnCall(func(method string) {
		if method != "projects.list" {
			return
		}
		mu.Lock()
		if lists++; lists == 3 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(60 * time.Second): // not all three looked (a hang guard, not a timing assertion: a loaded machine may start a shard seconds late)
		}
	})
	var wg sync.WaitGroup
	runs := make([]run, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := client(t, s, c)
			srcs := serverSource(s, cl, c, src.ID)
			r := &stages.Runner{Config: c, Source: srcs, Sink: serverSink(cl, srcs, 0), Reporter: quiet{}, Log: slog.New(slog.DiscardHandler),
				Keep: shard.Spec{I: i, N: 3}.Has}
			runs[i].sum, runs[i].err = r.Run(context.Background())
		}(i)
	}
	wg.Wait()
	ok := 0
	for i, r := range runs {
		if r.err != nil || r.sum.VideosFailed != 0 {
			t.Fatalf("shard %d/3: %v %+v", i, r.err, r.sum)
		}
		ok += r.sum.VideosOK
	}
	if ok != 5 {
		t.Fatalf("the shards sampled %d videos, want 5", ok)
	}
	dst := destProject(t, s, "svproject(images)") // exactly one
	if n := s.Calls()["projects.add"]; n < 2 {
		t.Fatalf("projects.add called %d times; the test wants shards racing to create the project", n)
	}
	got, _ := serverState(t, s, dst.ID)
	diff(t, "3 shards at once vs one run from disk", got, want)
	seen := map[string]bool{}
	for _, d := range s.Datasets(dst.ID) {
		k := d.Name
		if d.ParentID != nil {
			k = fmt.Sprint(*d.ParentID) + "/" + d.Name
		}
		if seen[k] {
			t.Fatalf("dataset %s made twice", d.Name)
		}
		seen[k] = true
	}
}
