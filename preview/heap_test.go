package preview_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpipe/vpipe/preview"
	localstore "github.com/vpipe/vpipe/stores/local"
)

// TestPreviewBuildHeap: building the site keeps a bounded heap: Build
// streams each image's record into its chunk of the data and keeps counters,
// not records. The same dataset shape is built at 1,000 and at 4,000 images
// (two boxes, a polygon and a bitmap each; masks of 16 kinds, written once
// as files): the peak heap in use may grow with the listing (an entry an
// image, ~250 bytes) but not with the records. Holding every record, as Build
// once did, measured 56.5 MB for 20,000 such images: ~2.8 KB an image, so
// 8.5 MB more for the 3,000 images more; the bound allows 5 MB more (measured at GOGC=10: 0.7 MB or less, under load too).
func TestPreviewBuildHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10,000 files")
	}
	small, large := buildHeap(t, 1000), buildHeap(t, 4000)
	t.Logf("peak heap in use over the start: %.1f MB for 1,000 images, %.1f MB for 4,000", small, large)
	if large-small > 5 {
		t.Errorf("peak heap grew by %.1f MB for 1,000 images and %.1f MB for 4,000: it grows with the images (want at most 5 MB more)", small, large)
	}
}

// buildHeap writes n images in 20 videos and builds their site, sampling the
// heap in use; it returns the peak over the heap before Build, in MB.
func buildHeap(t *testing.T, n int) float64 {
	d := newDataset(t)
	var wg sync.WaitGroup
	img := smallPNG(1, 1)
	masks := make([]string, 16)
	for k := range masks {
		masks[k] = maskData(t, 12, 8, func(x, y int) bool { return (x+y+k)%3 == 0 })
	}
	for v := range 20 {
		wg.Go(func() {
			ds := []string{"train", fmt.Sprintf("video%02d.mp4", v)}
			for f := range n / 20 {
				objects := rect("car", f%40, 5, f%40+16, 20, v*1000+f) + "," + rect("car", 2, 2, 10, 10, 7) +
					`,{"classTitle":"road","tags":[{"name":"weather","value":"dry"}],"points":{"exterior":[[0,30],[63,30],[63,47],[0,47]],"interior":[]},"geometryType":"polygon"}` +
					`,{"classTitle":"puddle","tags":[],"bitmap":{"origin":[20,20],"data":"` + masks[f%16] + `"},"geometryType":"bitmap"}`
				d.image(ds, fmt.Sprintf("video%02d.mp4_frame_%04d.png", v, f), img, 64, 48, objects, "", nil)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// A low GOGC keeps the garbage between collections small, so the peak
	// heap in use follows what Build holds, even when a loaded machine lets
	// the collector lag.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	start := time.Now()
	site := filepath.Join(t.TempDir(), "site")
	sum, err := preview.Build(context.Background(), localstore.New(d.root), preview.Options{Out: site, Title: "heap"})
	close(stop)
	sampler.Wait()
	if err != nil {
		t.Fatal(err)
	}
	grew := float64(peak.Load()-min(peak.Load(), base)) / (1 << 20)
	if sum.Images != n || sum.Labels != 4*n {
		t.Fatalf("summary %+v, want %d images", *sum, n)
	}
	t.Logf("%d images built in %v", n, time.Since(start).Round(time.Millisecond))
	return grew
}
