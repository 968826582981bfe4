package main_test

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
)

// TestRawElementaryStreams: a folder holding raw H.264 and HEVC streams (no
// container, no timestamps at all) is sampled from a start past 0 with a step,
// each image byte-identical to the CLI's frame of that index (framemd5,
// passthrough), its time_s the time the CLI makes up for it (i / frame rate),
// and its pts i frames of the stream's time base.
func TestRawElementaryStreams(t *testing.T) {
	src := t.TempDir()
	testcorpus.Folder(t, src, testcorpus.Get("h264_raw"), "clip.h264")
	testcorpus.Folder(t, src, testcorpus.Get("hevc_raw"), "sub/clip.hevc")
	out := t.TempDir()
	log, code := vpipe(t, "run", "pipeline.yaml", "--set", "source.path="+src, "--set", "sink.path="+out,
		"--set", "sampling.start=5", "--set", "sampling.step=7")
	// 5, 12, … 68 of 75 frames; 5, 12, … 54 of 60.
	if code != 0 || !strings.Contains(log, "videos: 2 ok, 0 failed; frames: 18 written") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	for _, c := range []struct{ ds, file string }{{"ds0", "clip.h264"}, {"sub", "clip.hevc"}} {
		video := filepath.Join(src, c.ds, c.file)
		if c.ds == "ds0" {
			video = filepath.Join(src, c.file)
		}
		ref := cliFrames(t, video, "")
		dir := filepath.Join(out, c.ds, "datasets", c.file)
		n := 0
		for i := 5; i < len(ref); i += 7 {
			n++
			name := fmt.Sprintf("%s_frame_%02d.png", c.file, i)
			rgb, w, h := pngRGB(t, filepath.Join(dir, "img", name))
			if got := fmt.Sprintf("%x", md5.Sum(rgb)); got != ref[i].md5 || ref[i].w != 3*w*h {
				t.Errorf("%s frame %d: pixels differ from the CLI's frame n=%d", c.file, i, i)
			}
			var meta struct {
				Index int     `json:"frame_index"`
				Time  float64 `json:"time_s"`
				PTS   int64   `json:"pts"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "meta", name+".json"))
			if err != nil || json.Unmarshal(b, &meta) != nil {
				t.Fatalf("%s frame %d meta: %v %s", c.file, i, err, b)
			}
			// 25 fps in the raw demuxer's time base 1/1200000: 48000 a frame.
			if meta.Index != i || meta.Time != ref[i].time || meta.Time != float64(i)/25 || meta.PTS != int64(i)*48000 {
				t.Errorf("%s frame %d meta %s: want time_s %v (the CLI's), pts %d", c.file, i, b, ref[i].time, i*48000)
			}
		}
		if imgs, _ := filepath.Glob(filepath.Join(dir, "img", "*.png")); len(imgs) != n {
			t.Errorf("%s: %d images, want %d", c.file, len(imgs), n)
		}
		// The last sampled frame alone, reached by a byte seek to a GOP: the same image.
		last := 5 + (len(ref)-6)/7*7
		fdir := t.TempDir()
		if log, code := vpipe(t, "frames", video, "-o", fdir, "--start", fmt.Sprint(last), "--end", fmt.Sprint(last+1)); code != 0 {
			t.Fatalf("frames: exit %d\n%s", code, log)
		}
		a, _ := os.ReadFile(filepath.Join(fdir, fmt.Sprintf("frame_%06d.png", last)))
		b, _ := os.ReadFile(filepath.Join(dir, "img", fmt.Sprintf("%s_frame_%02d.png", c.file, last)))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s frame %d reached by a seek differs from the run's", c.file, last)
		}
	}
}
