package media_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// Lossy outputs must stay this close to the pixels encoded (PSNR over R, G, B).
// Measured at quality 90 on the small camera-like frames (saturated colour bars
// with sharp edges, the worst case for 4:2:0 chroma): JPEG 35.5–38 dB, WebP
// 37.6–42 dB; a wrong colour matrix or a swapped channel falls below 20 dB.
const (
	minPSNRJPEG90 = 33.0
	minPSNRWebP90 = 34.0
)

// frames decodes a few frames of a corpus video to RGB.
func rgbFrames(t testing.TB, v testcorpus.Video, want []int) []*media.RGB {
	t.Helper()
	path := testcorpus.Path(t, v)
	vid, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer vid.Close()
	x, err := vid.Scan(0)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := media.NewConverter("bicubic")
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
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
		t.Fatal(err)
	}
	return out
}

// synthetic images: sizes whose rows are no multiple of 8 bytes, 1 pixel wide or high.
func synthetic() []*media.RGB {
	r := rand.New(rand.NewSource(1))
	var out []*media.RGB
	for _, s := range [][2]int{{1, 1}, {7, 3}, {1, 9}, {13, 1}, {101, 37}} {
		im := &media.RGB{Width: s[0], Height: s[1], Pix: make([]byte, 3*s[0]*s[1])}
		r.Read(im.Pix)
		out = append(out, im)
	}
	return out
}

// cliRGB decodes an image file with the ffmpeg CLI to packed RGB24.
func cliRGB(t *testing.T, file []byte, ext string) []byte {
	t.Helper()
	f := filepath.Join(t.TempDir(), "img"+ext)
	if err := os.WriteFile(f, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", f, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decoding %s: %v\n%s", ext, err, errb.String())
	}
	return out.Bytes()
}

// goRGB decodes with Go's image package to packed RGB24.
func goRGB(t *testing.T, img image.Image) []byte {
	t.Helper()
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

func encode(t *testing.T, o media.EncodeOptions, im *media.RGB) []byte {
	t.Helper()
	e, err := media.NewEncoder(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := e.Encode(im)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}

// TestPNGRoundTrip: the PNGs decode, with Go's image/png and with the ffmpeg CLI,
// to exactly the pixels encoded, at every level, on camera-like frames and on
// sizes whose rows are no multiple of the filter's 8-byte step.
func TestPNGRoundTrip(t *testing.T) {
	ims := append(rgbFrames(t, testcorpus.CameraSmall, []int{0, 3, 9}), rgbFrames(t, testcorpus.Get("odd_size"), []int{5})...)
	ims = append(ims, synthetic()...)
	enc := media.NewPNGEncoder(1)
	defer enc.Close()
	for k, im := range ims {
		for _, level := range []int{0, 1, 6, 9} {
			t.Run(fmt.Sprintf("%d_%dx%d_level%d", k, im.Width, im.Height, level), func(t *testing.T) {
				b := encode(t, media.EncodeOptions{Format: "png", Compression: level}, im)
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("image/png: %v", err)
				}
				if got := goRGB(t, img); !bytes.Equal(got, im.Pix) {
					t.Fatal("image/png decodes other pixels")
				}
				if level == 1 || k >= len(ims)-2 {
					if got := cliRGB(t, b, ".png"); !bytes.Equal(got, im.Pix) {
						t.Fatal("ffmpeg decodes other pixels")
					}
				}
			})
		}
		// The same encoder, reused across sizes, makes the same files.
		b, err := enc.Encode(im)
		if err != nil {
			t.Fatal(err)
		}
		if want := encode(t, media.EncodeOptions{Compression: 1}, im); !bytes.Equal(b, want) {
			t.Fatalf("image %d: a reused encoder wrote other bytes", k)
		}
		media.PutBuf(b)
	}
}

// TestLossyRoundTrip: lossless WebP decodes (ffmpeg CLI) to exactly the pixels
// encoded; JPEG (image/jpeg and the CLI) and lossy WebP stay within the PSNR
// bounds above.
func TestLossyRoundTrip(t *testing.T) {
	ims := append(rgbFrames(t, testcorpus.CameraSmall, []int{0, 9}), rgbFrames(t, testcorpus.Get("odd_size"), []int{5})...)
	for k, im := range ims {
		name := fmt.Sprintf("%d_%dx%d", k, im.Width, im.Height)
		t.Run(name+"_webp_lossless", func(t *testing.T) {
			b := encode(t, media.EncodeOptions{Format: "webp", Lossless: true}, im)
			if got := cliRGB(t, b, ".webp"); !bytes.Equal(got, im.Pix) {
				t.Fatalf("ffmpeg decodes other pixels (PSNR %.1f dB)", psnr(got, im.Pix))
			}
		})
		t.Run(name+"_webp_q90", func(t *testing.T) {
			b := encode(t, media.EncodeOptions{Format: "webp", Quality: 90}, im)
			if p := psnr(cliRGB(t, b, ".webp"), im.Pix); p < minPSNRWebP90 {
				t.Fatalf("PSNR %.1f dB < %.0f", p, minPSNRWebP90)
			} else {
				t.Logf("PSNR %.1f dB, %d bytes", p, len(b))
			}
		})
		t.Run(name+"_jpeg_q90", func(t *testing.T) {
			b := encode(t, media.EncodeOptions{Format: "jpeg", Quality: 90}, im)
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("image/jpeg: %v", err)
			}
			if img.Bounds().Dx() != im.Width || img.Bounds().Dy() != im.Height {
				t.Fatalf("decoded %v", img.Bounds())
			}
			pg, pc := psnr(goRGB(t, img), im.Pix), psnr(cliRGB(t, b, ".jpg"), im.Pix)
			if pg < minPSNRJPEG90 || pc < minPSNRJPEG90 {
				t.Fatalf("PSNR %.1f dB (image/jpeg), %.1f dB (ffmpeg) < %.0f", pg, pc, minPSNRJPEG90)
			}
			t.Logf("PSNR %.1f dB (image/jpeg), %.1f dB (ffmpeg), %d bytes", pg, pc, len(b))
			// A lower quality makes a smaller file: the setting reaches the encoder.
			if low := encode(t, media.EncodeOptions{Format: "jpeg", Quality: 30}, im); len(low) >= len(b) {
				t.Fatalf("quality 30: %d bytes, quality 90: %d", len(low), len(b))
			}
		})
	}
}

// BenchmarkEncode measures each encoder on real 1080p frames of the camera-like
// clip, one goroutine (go test -run X -bench Encode ./media/).
func BenchmarkEncode(b *testing.B) {
	ims := rgbFrames(b, testcorpus.Camera, []int{5, 15, 25})
	for _, o := range []media.EncodeOptions{
		{Format: "png", Compression: 1}, {Format: "png", Compression: 6},
		{Format: "jpeg", Quality: 90}, {Format: "webp", Quality: 90}, {Format: "webp", Lossless: true},
	} {
		name := o.Format
		switch {
		case o.Format == "png":
			name += fmt.Sprintf("_level%d", o.Compression)
		case o.Lossless:
			name += "_lossless"
		default:
			name += fmt.Sprintf("_q%d", o.Quality)
		}
		b.Run(name, func(b *testing.B) {
			e, err := media.NewEncoder(o)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			n := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := e.Encode(ims[i%len(ims)])
				if err != nil {
					b.Fatal(err)
				}
				n += len(out)
				media.PutBuf(out)
			}
			b.ReportMetric(float64(n)/float64(b.N), "bytes/frame")
		})
	}
}
