package media_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// framePTS are the PTS of the frames the ffmpeg CLI decodes from path, sorted.
func framePTS(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pts []int64
	for _, l := range strings.Fields(string(b)) {
		p, err := strconv.ParseInt(strings.Trim(l, ","), 10, 64)
		if err != nil {
			t.Fatalf("ffprobe %s: frame pts %q", path, l)
		}
		pts = append(pts, p)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
	return pts
}

// Issue 16: a Matroska or WebM file at 30 fps (a millisecond time base, so
// frame gaps of 33 and 34) cut at 25, 50, 75 and 90 % of its size. Salvage
// writes every frame the CLI decodes from the cut file, under its true index
// (that of the intact file's frame of the same time), byte-identical to the
// intact file's frame of that index, and lists every other: the header's
// duration gives the count, so none is "unlisted". The same within a window.
func TestSalvageCutMatroska(t *testing.T) {
	for _, v := range []testcorpus.Video{testcorpus.MKV30, testcorpus.MKV30NoB, testcorpus.WebM30} {
		intact := testcorpus.Path(t, v)
		data, err := os.ReadFile(intact)
		if err != nil {
			t.Fatal(err)
		}
		truePTS := framePTS(t, intact)
		if len(truePTS) != v.Frames {
			t.Fatalf("%s: the CLI decodes %d frames, want %d", intact, len(truePTS), v.Frames)
		}
		all := make([]int, v.Frames)
		for i := range all {
			all[i] = i
		}
		ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
		for _, pct := range []int{25, 50, 75, 90} {
			t.Run(fmt.Sprintf("%s_%d", v.Name, pct), func(t *testing.T) {
				cut := filepath.Join(t.TempDir(), "cut"+filepath.Ext(intact))
				if err := os.WriteFile(cut, data[:len(data)*pct/100], 0o644); err != nil {
					t.Fatal(err)
				}
				held := map[int]bool{} // the frames the CLI decodes from the cut file, by true index
				for _, p := range framePTS(t, cut) {
					i := sort.Search(len(truePTS), func(i int) bool { return truePTS[i] >= p })
					if i == len(truePTS) || truePTS[i] != p {
						t.Fatalf("the CLI decodes a frame of PTS %d from the cut file, which the intact file has not", p)
					}
					held[i] = true
				}
				window := []int{21, 22, 23, 24, 25, 26, 27}
				for _, want := range [][]int{all, window} {
					var wantGot, wantLost []int
					for _, i := range want {
						if held[i] {
							wantGot = append(wantGot, i)
						} else {
							wantLost = append(wantLost, i)
						}
					}
					got, lost, x := salvageMapDecode(t, cut, want, ref, w, h)
					if fmt.Sprint(got) != fmt.Sprint(wantGot) || fmt.Sprint(lost) != fmt.Sprint(wantLost) {
						t.Errorf("frames %d-%d: wrote %v, lost %v; the CLI decodes %v of them (%d in all)",
							want[0], want[len(want)-1], got, lost, wantGot, len(held))
					}
					if x.Count != v.Frames || x.CountUnknown {
						t.Errorf("count %d (unknown: %v), want %d from the header's duration", x.Count, x.CountUnknown, v.Frames)
					}
					if len(want) == len(all) {
						t.Logf("cut at %d %%: the CLI decodes %d frames, salvage wrote %d; damage %q", pct, len(held), len(got), x.Damage)
					}
				}
			})
		}
	}
}
