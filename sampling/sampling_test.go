package sampling

import (
	"reflect"
	"testing"
)

func ip(i int) *int { return &i }

func TestIndices(t *testing.T) {
	odd := func(i int) bool { return i%2 == 1 }
	cases := []struct {
		name  string
		spec  Spec
		count int
		ann   func(int) bool
		want  []int
	}{
		{"all", Spec{Step: 1}, 5, nil, []int{0, 1, 2, 3, 4}},
		{"window", Spec{Start: 2, End: ip(5), Step: 1}, 10, nil, []int{2, 3, 4}},
		{"step", Spec{Start: 1, Step: 3}, 10, nil, []int{1, 4, 7}},
		{"end past count is clamped", Spec{End: ip(100), Step: 4}, 10, nil, []int{0, 4, 8}},
		// step applies to the filtered list, as in the seed
		{"annotated then step", Spec{Step: 2, OnlyAnnotated: true}, 10, odd, []int{1, 5, 9}},
		{"nothing", Spec{Start: 20, Step: 1}, 10, nil, nil},
	}
	for _, c := range cases {
		if got := c.spec.Indices(c.count, c.ann); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, s := range []Spec{{Start: -1, Step: 1}, {Step: 0}, {Start: 5, End: ip(5), Step: 1}} {
		if s.Validate() == nil {
			t.Errorf("%+v: no error", s)
		}
	}
	if err := (Spec{Start: 1, End: ip(2), Step: 1}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestImageName(t *testing.T) {
	for _, c := range []struct {
		i, n int
		want string
	}{{7, 100, "a.mp4_frame_007.png"}, {7, 99, "a.mp4_frame_07.png"}, {0, 5, "a.mp4_frame_0.png"}, {12, 1000, "a.mp4_frame_0012.png"}} {
		if got := ImageName("a.mp4", c.i, c.n, ".png"); got != c.want {
			t.Errorf("ImageName(%d,%d) = %s, want %s", c.i, c.n, got, c.want)
		}
	}
	if got := ImageName("a.mp4", 7, 100, ".jpg"); got != "a.mp4_frame_007.jpg" {
		t.Errorf("jpeg: %s", got)
	}
}
