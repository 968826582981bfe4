package split

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func videos(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, Key([]string{"ds0", fmt.Sprintf("cam%d", i%7)}, fmt.Sprintf("clip_%04d.mp4", i)))
	}
	return out
}

func counts(m map[string]string) map[string]int {
	c := map[string]int{}
	for _, s := range m {
		c[s]++
	}
	return c
}

// Each split holds its fraction of the videos within one video, for several
// plans and sizes; a video is in exactly one split.
func TestFractionsWithinOneVideo(t *testing.T) {
	for _, m := range []map[string]float64{
		{"train": 0.8, "val": 0.2}, {"train": 0.7, "val": 0.15, "test": 0.15}, {"a": 0.5, "b": 0.5},
		{"train": 0.9, "val": 0.05, "test": 0.05}, {"x": 0.34, "y": 0.33, "z": 0.33},
	} {
		p, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 7, 100, 1000} {
			got, err := p.Assign(nil, videos(0, n))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%v on %d videos: %d assigned", m, n, len(got))
			}
			for name, f := range m {
				if d := math.Abs(float64(counts(got)[name]) - f*float64(n)); d >= 1 {
					t.Errorf("%v on %d videos: %s has %d, asked %.2f", m, n, name, counts(got)[name], f*float64(n))
				}
			}
		}
	}
}

// Adding 20 videos moves none of the 100 already assigned, and the 120 are
// still within one video of the fractions; the order of the listing does not
// matter.
func TestStableWhenVideosAdded(t *testing.T) {
	p, _ := New(map[string]float64{"train": 0.8, "val": 0.2})
	first, _ := p.Assign(nil, videos(0, 100))
	all := videos(0, 120)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	second, err := p.Assign(first, all)
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range first {
		if second[k] != s {
			t.Fatalf("%q moved from %s to %s when videos were added", k, s, second[k])
		}
	}
	if c := counts(second); math.Abs(float64(c["train"])-96) >= 1.0001 || c["train"]+c["val"] != 120 {
		t.Fatalf("after adding 20: %v, want train 96±1 of 120", c)
	}
	// The same set listed in another order, from nothing: the same answer.
	again, _ := p.Assign(nil, videos(0, 100))
	shuffled := videos(0, 100)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	other, _ := p.Assign(nil, shuffled)
	for k := range again {
		if again[k] != other[k] || again[k] != first[k] {
			t.Fatalf("%q: %s / %s / %s in three computations of one set", k, first[k], again[k], other[k])
		}
	}
}

func TestNewRefusesBadSplits(t *testing.T) {
	for _, m := range []map[string]float64{
		{"train": 0.8, "val": 0.1}, {"train": 1.2}, {"tr/ain": 1}, {"a.b": 1}, {"": 1}, {"train": 0, "val": 1},
	} {
		if _, err := New(m); err == nil {
			t.Errorf("%v accepted", m)
		}
	}
	if p, err := New(nil); err != nil || len(p) != 1 || p[0].Name != "train" {
		t.Fatalf("default: %v %v", p, err)
	}
	p, _ := New(map[string]float64{"train": 1})
	if _, err := p.Assign(map[string]string{"ds0\x00a.mp4": "val"}, []string{"ds0\x00a.mp4"}); err == nil {
		t.Fatal("a kept split the plan does not name was accepted")
	}
}
