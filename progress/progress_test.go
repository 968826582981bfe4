package progress_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vpipe/vpipe/progress"
)

// TestBarsFinish: the terminal reporter's Close returns whatever happened to the
// videos (all written, some skipped, failed before starting, failed midway).
func TestBarsFinish(t *testing.T) {
	cases := map[string]func(r progress.Reporter){
		"written": func(r progress.Reporter) {
			r.VideoStart("a", 3, 0)
			for i := 0; i < 3; i++ {
				r.FrameDone("a")
			}
			r.VideoDone("a", 3, 0, nil)
		},
		"all skipped": func(r progress.Reporter) {
			r.VideoStart("a", 0, 5)
			r.VideoDone("a", 0, 5, nil)
		},
		"failed before start": func(r progress.Reporter) { r.VideoDone("a", 0, 0, errors.New("boom")) },
		"failed midway": func(r progress.Reporter) {
			r.VideoStart("a", 3, 0)
			r.FrameDone("a")
			r.VideoDone("a", 1, 0, errors.New("boom"))
		},
		"two videos": func(r progress.Reporter) {
			r.VideoStart("a", 2, 0)
			r.FrameDone("a")
			r.FrameDone("a")
			r.VideoDone("a", 2, 0, nil)
			r.VideoStart("b", 1, 0)
			r.FrameDone("b")
			r.VideoDone("b", 1, 0, nil)
		},
		"nothing": func(progress.Reporter) {},
		// the race that hung a real run: the video is reported done before its last frame
		"done before last frame": func(r progress.Reporter) {
			r.VideoStart("a", 2, 0)
			r.FrameDone("a")
			r.VideoDone("a", 2, 0, nil)
			r.FrameDone("a")
		},
	}
	for name, run := range cases {
		for _, tty := range []bool{true, false} {
			var buf bytes.Buffer
			r := progress.New(&buf, tty)
			run(r)
			done := make(chan struct{})
			go func() { r.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s (tty %v): Close did not return", name, tty)
			}
		}
	}
}
