package media_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/media/fastpng"
)

// pathFrames decodes frames spread evenly over the first frames of a video to RGB.
func pathFrames(b *testing.B, path string, frames, n int) []*media.RGB {
	b.Helper()
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer vid.Close()
	x, err := vid.Scan(0)
	if err != nil {
		b.Fatal(err)
	}
	conv, err := media.NewConverter("bicubic")
	if err != nil {
		b.Fatal(err)
	}
	defer conv.Close()
	var want []int
	for i := 0; i < n; i++ {
		want = append(want, i*frames/n+frames/(2*n))
	}
	var out []*media.RGB
	err = vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
		defer p.Release()
		im, err := conv.Convert(p, p.Width, p.Height)
		if err == nil {
			out = append(out, &media.RGB{Width: im.Width, Height: im.Height, Pix: bytes.Clone(im.Pix)})
			im.Release()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// threadCPU is the CPU time of the calling OS thread: on a loaded machine a
// figure of the encoder alone, where wall time counts the other jobs too.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil { // RUSAGE_THREAD
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPNG compares the PNG paths on real decoded 1080p frames, camera-like
// and clean, on one goroutine: zlib1 (the klauspost zlib level-1 path, Up
// filter), fast (media/fastpng with SIMD kernels, what level 1 is) and
// fast_portable (its portable kernels). MP/s by wall time and by the thread's
// CPU time (cpu-MP/s), bytes a frame. 8 frames of the corpus clips by default;
// VPIPE_PNG_BENCH=camera.mp4,clean.mp4:600 takes 8 frames spread over the
// first 600 of each of those files instead (bench/work's clips), e.g.
//
//	go test -run X -bench PNG -benchtime 40x ./media/
func BenchmarkPNG(b *testing.B) {
	type clip struct {
		name   string
		path   string
		frames int
	}
	clips := []clip{{"camera", testcorpus.Path(b, testcorpus.Camera), 30}, {"clean", testcorpus.Path(b, testcorpus.Clean), 30}}
	if env := os.Getenv("VPIPE_PNG_BENCH"); env != "" {
		paths, n, _ := strings.Cut(env, ":")
		frames := 600
		fmt.Sscan(n, &frames)
		clips = clips[:0]
		for i, p := range strings.Split(paths, ",") {
			clips = append(clips, clip{[]string{"camera", "clean"}[min(i, 1)], p, frames})
		}
	}
	encoders := []struct {
		name string
		new  func() *media.PNGEncoder
	}{
		{"zlib1", func() *media.PNGEncoder { return media.NewZlibPNGEncoder(1) }},
		{"fast_" + fastpng.Kernels(), func() *media.PNGEncoder { return media.NewPNGEncoder(1) }},
		{"fast_portable", media.NewPortablePNGEncoder},
	}
	for _, c := range clips {
		ims := pathFrames(b, c.path, c.frames, 8)
		for _, enc := range encoders {
			b.Run(c.name+"/"+enc.name, func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				e := enc.new()
				defer e.Close()
				n, px := 0, 0
				cpu := threadCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					im := ims[i%len(ims)]
					out, err := e.Encode(im)
					if err != nil {
						b.Fatal(err)
					}
					n, px = n+len(out), px+im.Width*im.Height
					media.PutBuf(out)
				}
				b.StopTimer()
				cpu = threadCPU() - cpu
				b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
				b.ReportMetric(float64(px)/b.Elapsed().Seconds()/1e6, "MP/s")
				if cpu > 0 {
					b.ReportMetric(float64(px)/cpu.Seconds()/1e6, "cpu-MP/s")
				}
			})
		}
	}
}

// BenchmarkFusedEstimate measures what fusing the RGB conversion into the PNG
// encoder's pass (issue 19 item 1) could save on camera-like 1080p frames, in
// CPU ms a frame on one thread: convert (swscale YUV 4:2:0 -> RGB24, the
// decoder's pictures kept in memory), encode_hot (fastpng right after the
// frame was converted, as the encode stage does it), encode_cold (the RGB
// pushed out of the caches first), copy_rgb (one more write and read of the
// 6.2 MB RGB frame: what a fused pass would no longer do). Same environment
// variable as BenchmarkPNG for bench/work's clip:
//
//	go test -run X -bench FusedEstimate -benchtime 40x ./media/
func BenchmarkFusedEstimate(b *testing.B) {
	path, frames := testcorpus.Path(b, testcorpus.Camera), 30
	if env := os.Getenv("VPIPE_PNG_BENCH"); env != "" {
		p, n, _ := strings.Cut(env, ":")
		path, frames = strings.Split(p, ",")[0], 600
		fmt.Sscan(n, &frames)
	}
	pics := pathPictures(b, path, frames, 8)
	conv, err := media.NewConverter("bicubic")
	if err != nil {
		b.Fatal(err)
	}
	defer conv.Close()
	enc := media.NewPNGEncoder(1)
	defer enc.Close()
	flush := make([]byte, 128<<20) // four times the L3 of the 2-core test machine
	rgb := make([]byte, 3*pics[0].Width*pics[0].Height)
	copyTo := make([]byte, len(rgb))
	steps := map[string]func(p *media.Picture, timed func(func())){
		"convert": func(p *media.Picture, timed func(func())) {
			timed(func() { im, _ := conv.Convert(p, p.Width, p.Height); im.Release() })
		},
		"encode_hot": func(p *media.Picture, timed func(func())) {
			im, _ := conv.Convert(p, p.Width, p.Height)
			timed(func() { out, _ := enc.Encode(im); media.PutBuf(out) })
			im.Release()
		},
		"encode_cold": func(p *media.Picture, timed func(func())) {
			im, _ := conv.Convert(p, p.Width, p.Height)
			for i := 0; i < len(flush); i += 64 {
				flush[i]++
			}
			timed(func() { out, _ := enc.Encode(im); media.PutBuf(out) })
			im.Release()
		},
		"copy_rgb": func(p *media.Picture, timed func(func())) {
			im, _ := conv.Convert(p, p.Width, p.Height)
			copy(rgb, im.Pix)
			timed(func() { copy(copyTo, rgb) })
			im.Release()
		},
	}
	for _, name := range []string{"convert", "encode_hot", "encode_cold", "copy_rgb"} {
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu time.Duration
			timed := func(f func()) {
				t := threadCPU()
				f()
				cpu += threadCPU() - t
			}
			for i := 0; i < b.N; i++ {
				steps[name](pics[i%len(pics)], timed)
			}
			b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/frame")
		})
	}
}

// pathPictures decodes frames spread evenly over the first frames of a video
// and keeps their decoded pictures.
func pathPictures(b *testing.B, path string, frames, n int) []*media.Picture {
	b.Helper()
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer vid.Close()
	x, err := vid.Scan(0)
	if err != nil {
		b.Fatal(err)
	}
	var want []int
	for i := 0; i < n; i++ {
		want = append(want, i*frames/n+frames/(2*n))
	}
	var out []*media.Picture
	err = vid.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error {
		c := *p
		c.Buf = bytes.Clone(p.Buf)
		p.Release()
		out = append(out, &c)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}
