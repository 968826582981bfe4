package media_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// A Matroska file whose middle is overwritten (a cluster's bytes zeroed or
// garbled): the demuxer logs the broken element, resyncs at the next cluster
// and reads on as if nothing were lost. The frames after the hole must not move
// up into the lost frames' indices: `fail` fails naming the file, and salvage
// writes only frames equal to the intact file's frame of the same index and
// lists the rest.
func TestMatroskaMidFileDamage(t *testing.T) {
	intact := testcorpus.Path(t, testcorpus.MKV)
	src, err := os.ReadFile(intact)
	if err != nil {
		t.Fatal(err)
	}
	for _, fill := range []byte{0, 0x5a} {
		damaged := filepath.Join(t.TempDir(), "mid.mkv")
		b := append([]byte(nil), src...)
		for i := len(b) / 2; i < len(b)/2+len(b)/8; i++ {
			b[i] = fill
		}
		if err := os.WriteFile(damaged, b, 0o644); err != nil {
			t.Fatal(err)
		}
		all := make([]int, testcorpus.MKV.Frames)
		for i := range all {
			all[i] = i
		}

		vid, err := media.Open(damaged, media.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := vid.Scan(0)
		if err == nil {
			// every frame the map found: none may come out under another's index
			err = vid.Decode(context.Background(), x, all[:min(x.Count, len(all))], media.DecodeOptions{}, func(p *media.Picture) error {
				p.Release()
				return nil
			})
		}
		vid.Close()
		if err == nil || !strings.Contains(err.Error(), damaged) {
			t.Fatalf("fill %#x: on_damage fail: %v, want an error naming %s", fill, err, damaged)
		}
		t.Log(err)

		ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
		got, lost := salvageDecode(t, damaged, all, ref, w, h)
		if len(got)+len(lost) != len(all) || len(lost) == 0 {
			t.Fatalf("fill %#x: salvage emitted %v, lost %v; want %d frames in all, some lost", fill, got, lost, len(all))
		}
		t.Logf("fill %#x: lost %v", fill, lost)
	}
}

// An MPEG-TS that lost a keyframe's transport packets (a cut in a recording
// over UDP): the frames after it in its group of pictures are predicted from a
// picture that is not there, and the decoder conceals them without a flag.
// Salvage must not write them; the frames it writes equal the intact file's.
func TestTSLostKeyframe(t *testing.T) {
	intact := testcorpus.Path(t, testcorpus.Get("mpegts"))
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos,flags",
		"-of", "csv=p=0", intact).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(out))
	var from, to int64 = -1, -1
	for k := 1; k < len(lines)-1; k++ { // the second keyframe: one with frames before it
		if strings.Contains(lines[k], "K") {
			from, _ = strconv.ParseInt(strings.Split(lines[k], ",")[0], 10, 64)
			to, _ = strconv.ParseInt(strings.Split(lines[k+1], ",")[0], 10, 64)
			break
		}
	}
	if from < 0 || (to-from)%188 != 0 {
		t.Fatalf("keyframe packet at %d-%d in %s", from, to, lines)
	}
	if (to-from)/188%16 == 0 {
		to += 188 // the continuity counters would not tell
	}
	src, _ := os.ReadFile(intact)
	damaged := filepath.Join(t.TempDir(), "lost_key.ts")
	if err := os.WriteFile(damaged, append(append([]byte(nil), src[:from]...), src[to:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	n := testcorpus.Get("mpegts").Frames
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	ref, w, h := testcorpus.Reference(t, intact, all, "", "bicubic")
	got, lost := salvageDecode(t, damaged, all, ref, w, h)
	if len(lost) == 0 || len(got)+len(lost) != n {
		t.Fatalf("emitted %v, lost %v", got, lost)
	}
	t.Logf("lost %v", lost)
}
