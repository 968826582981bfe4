package media_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testcorpus"
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
