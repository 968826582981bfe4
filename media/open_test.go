package media_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// TestOpenURL: a video served over HTTP is opened with the given headers (the
// server refuses requests without them) and decoded like a file; the key never
// shows in errors.
func TestOpenURL(t *testing.T) {
	path := testcorpus.Path(t, testcorpus.Get("h264_bframes"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "s3cret" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		http.ServeFile(w, r, path)
	}))
	defer srv.Close()
	url := srv.URL + "/video.mp4?token=s3cret"
	v, err := media.Open(url, media.OpenOptions{Headers: map[string]string{"x-api-key": "s3cret"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	x, err := v.Scan(0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := v.Decode(context.Background(), x, []int{70, 71, 72}, media.DecodeOptions{}, func(p *media.Picture) error {
		n++
		p.Release()
		return nil
	}); err != nil || n != 3 || x.Count != 75 {
		t.Fatalf("decode over HTTP: %v, %d frames of %d", err, n, x.Count)
	}
	_, err = media.Open(url, media.OpenOptions{Timeout: 5 * time.Second})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), srv.URL+"/video.mp4") {
		t.Fatalf("without the header: %v", err)
	}
}

// TestScanStopsEarly: with an end frame, the PTS map stops demuxing once the
// first frames are certain, when the container declares the frame count.
func TestScanStopsEarly(t *testing.T) {
	for _, name := range []string{"h264_bframes", "hevc", "h264_opengop"} {
		v, err := media.Open(testcorpus.Path(t, testcorpus.Get(name)), media.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		full, err := v.Scan(0)
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
		v, _ = media.Open(testcorpus.Path(t, testcorpus.Get(name)), media.OpenOptions{})
		part, err := v.Scan(20)
		v.Close()
		if err != nil {
			t.Fatal(err)
		}
		if part.Complete || len(part.PTS) >= len(full.PTS) || part.Count != full.Count {
			t.Fatalf("%s: partial scan read %d of %d packets, count %d/%d", name, len(part.PTS), len(full.PTS), part.Count, full.Count)
		}
		for i := 0; i < 20; i++ {
			if part.PTS[i] != full.PTS[i] {
				t.Fatalf("%s: frame %d PTS %d, full scan %d", name, i, part.PTS[i], full.PTS[i])
			}
		}
		t.Logf("%s: %d of %d packets read for the first 20 frames", name, len(part.PTS), len(full.PTS))
	}
}
