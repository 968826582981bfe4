package shard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/core"
)

func TestParse(t *testing.T) {
	for _, ok := range []struct {
		in   string
		want Spec
	}{{"0/1", Spec{0, 1}}, {"2/3", Spec{2, 3}}, {" 1 / 4 ", Spec{1, 4}}} {
		got, err := Parse("--shard", ok.in)
		if err != nil || got != ok.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", ok.in, got, err, ok.want)
		}
	}
	for _, bad := range []struct{ in, why string }{
		{"3/3", "from 0 to 2"}, {"-1/3", "from 0 to 2"}, {"0/0", "at least 1"}, {"1", "want I/N"},
		{"a/3", "whole numbers"}, {"1/3/4", "whole numbers"}, {"", "want I/N"},
	} {
		_, err := Parse("--shard", bad.in)
		if err == nil || !strings.Contains(err.Error(), bad.why) || !strings.Contains(err.Error(), fmt.Sprintf("--shard %q", bad.in)) {
			t.Errorf("Parse(%q): %v; want an error quoting the value and saying %q", bad.in, err, bad.why)
		}
	}
}

// Every video is in exactly one shard, and its shard depends only on its own
// identity: fixed values (so a change of hash would be caught), and the same
// shard whatever else is listed.
func TestEveryVideoInOneShard(t *testing.T) {
	var items []*core.Item
	for d := 0; d < 5; d++ {
		for v := 0; v < 40; v++ {
			items = append(items, &core.Item{Dataset: []string{fmt.Sprintf("ds%d", d), "child"}, Name: fmt.Sprintf("v%03d.mp4", v)})
		}
	}
	for _, n := range []int{1, 2, 3, 7} {
		count := make([]int, n)
		for _, it := range items {
			in := 0
			for i := 0; i < n; i++ {
				if (Spec{i, n}).Has(it) {
					in++
					count[i]++
				}
			}
			if in != 1 {
				t.Fatalf("%s is in %d of %d shards", it.ID(), in, n)
			}
		}
		for i, c := range count {
			if c == 0 {
				t.Errorf("shard %d/%d of %d videos is empty", i, n, len(items))
			}
		}
	}
	// Pinned values (FNV-1a 64 of the NUL-joined key, mod 1000), so a change of
	// hash is caught: shards of one project run by two vpipe versions must
	// agree, or a video is written twice or never.
	if got := fmt.Sprint(Of(Key([]string{"ds0"}, "traffic.mp4"), 1000), Of(Key([]string{"street"}, "phone.mp4"), 1000), Of("", 1000)); got != "4 943 37" {
		t.Fatalf("hash values changed: %s, pinned 4 943 37", got)
	}
	// A dataset/name boundary moved is another video.
	if Key([]string{"a"}, "b.mp4") == Key(nil, "a/b.mp4") {
		t.Fatal("keys collide")
	}
}
