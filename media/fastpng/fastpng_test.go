package fastpng_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media/fastpng"
)

// img is a test image: packed 8-bit pixels of ch channels.
type img struct {
	name    string
	w, h    int
	ch      int
	pix     []byte
	stored  bool // incompressible: the encoder must fall back to stored blocks
	noExtra bool // too many to decode each with the ffmpeg CLI and Pillow
}

func newImg(name string, w, h, ch int, fill func(r *rand.Rand, pix []byte)) img {
	im := img{name: fmt.Sprintf("%s_%dx%d_%dch", name, w, h, ch), w: w, h: h, ch: ch, pix: make([]byte, w*h*ch)}
	fill(rand.New(rand.NewSource(int64(w*31+h*7+ch))), im.pix)
	return im
}

func noise(r *rand.Rand, p []byte) { r.Read(p) }
func constant(v byte) func(*rand.Rand, []byte) {
	return func(_ *rand.Rand, p []byte) {
		for i := range p {
			p[i] = v // one value everywhere: runs across whole rows
		}
	}
}

// smooth is a gradient with a little noise and flat patches: small residuals, zero runs.
func smooth(w, ch int) func(*rand.Rand, []byte) {
	return func(r *rand.Rand, p []byte) {
		for i := range p {
			x, y := (i/ch)%w, (i/ch)/w
			v := x/3 + y/2 + (i%ch)*40
			if (x/37+y/23)%3 != 0 {
				v += r.Intn(5) - 2
			}
			p[i] = byte(v)
		}
	}
}

// posterized has few values far apart: residuals mostly of the rare "mid" kind.
func posterized(r *rand.Rand, p []byte) {
	vals := []byte{0, 70, 140, 210, 255}
	for i := range p {
		if i%7 == 0 || r.Intn(4) == 0 {
			p[i] = vals[r.Intn(len(vals))]
		} else if i > 0 {
			p[i] = p[i-1]
		}
	}
}

// syntheticImages: sizes from 1x1 up, odd widths, 1xN and Nx1, 16384x1 and 16384x3, every
// channel count, with noise, flat, smooth and posterized content.
func syntheticImages() []img {
	var out []img
	for _, s := range [][2]int{{1, 1}, {1, 17}, {17, 1}, {2, 2}, {3, 5}, {7, 3}, {13, 11}, {31, 9}, {33, 33}, {101, 37}, {255, 3}, {640, 4}} {
		for ch := 1; ch <= 4; ch++ {
			w, h := s[0], s[1]
			out = append(out, newImg("smooth", w, h, ch, smooth(w, ch)), newImg("posterized", w, h, ch, posterized))
			if ch == 3 || ch == 4 {
				out = append(out, newImg("noise", w, h, ch, noise), newImg("constant", w, h, ch, constant(200)))
			}
		}
	}
	out = append(out,
		newImg("smooth", 16384, 1, 3, smooth(16384, 3)), newImg("noise", 16384, 1, 3, noise),
		newImg("constant", 16384, 1, 4, constant(7)), newImg("posterized", 1, 16384, 3, posterized),
		newImg("constant", 1920, 1080, 3, constant(0)), newImg("smooth", 1921, 97, 4, smooth(1921, 4)))
	// 16384 wide and several rows high: Up and Paeth over full rows, the
	// sampled rows, runs crossing row ends, stored blocks split inside a row.
	for ch := 1; ch <= 4; ch++ {
		out = append(out, newImg("smooth", 16384, 3, ch, smooth(16384, ch)), newImg("posterized", 16384, 3, ch, posterized))
	}
	out = append(out, newImg("noise", 16384, 3, 3, noise), newImg("noise", 16384, 3, 4, noise),
		newImg("constant", 16384, 3, 1, constant(255)), newImg("constant", 16384, 3, 3, constant(9)))
	big := newImg("noise", 700, 500, 3, noise)
	big.stored = true
	out = append(out, big)
	for i := range out {
		if strings.HasPrefix(out[i].name, "noise") && out[i].w*out[i].h >= 64 {
			out[i].stored = true
		}
		out[i].noExtra = out[i].w*out[i].h < 100 && out[i].ch != 3 // enough small ones go through the CLI and Pillow
	}
	return out
}

// videoFrames: real decoded frames (ffmpeg CLI to rgb24) of the camera-like
// corpus clip at 320x180 and 1080p, and one 4096x2160 frame of its recipe.
func videoFrames(t testing.TB) []img {
	var out []img
	add := func(name, path string, w, h, n int, vf string) {
		args := []string{"-hide_banner", "-loglevel", "error", "-i", path}
		if vf != "" {
			args = append(args, "-vf", vf)
		}
		args = append(args, "-frames:v", fmt.Sprint(n), "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
		raw, err := exec.Command("ffmpeg", args...).Output()
		if err != nil || len(raw) != n*w*h*3 {
			t.Fatalf("ffmpeg decoding %s: %v (%d bytes)", path, err, len(raw))
		}
		for i := 0; i < n; i++ {
			out = append(out, img{name: fmt.Sprintf("%s_%d", name, i), w: w, h: h, ch: 3, pix: raw[i*w*h*3 : (i+1)*w*h*3]})
		}
	}
	add("camera_small", testcorpus.Path(t, testcorpus.CameraSmall), 320, 180, 3, "")
	add("camera_1080p", testcorpus.Path(t, testcorpus.Camera), 1920, 1080, 3, "select=not(mod(n\\,7))")
	add("camera_4096x2160", testcorpus.Path(t, testcorpus.Camera), 4096, 2160, 1, "scale=4096:2160:flags=bicubic,noise=alls=4")
	return out
}

func encode(t testing.TB, e *fastpng.Encoder, im img) []byte {
	t.Helper()
	b, err := e.Encode(make([]byte, 0, fastpng.MaxLen(im.w, im.h, im.ch)), im.pix, im.w, im.h, im.ch)
	if err != nil {
		t.Fatalf("%s: %v", im.name, err)
	}
	return b
}

// goPixels decodes with Go's image/png to packed pixels of ch channels.
func goPixels(t testing.TB, b []byte, ch int) []byte {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	switch m := m.(type) {
	case *image.Gray:
		return packed(m.Pix, m.Stride, m.Rect.Dx())
	case *image.NRGBA:
		if ch == 4 {
			return packed(m.Pix, m.Stride, m.Rect.Dx()*4)
		}
		if ch == 2 { // gray+alpha decodes as NRGBA
			p := packed(m.Pix, m.Stride, m.Rect.Dx()*4)
			out := make([]byte, 0, len(p)/2)
			for i := 0; i < len(p); i += 4 {
				out = append(out, p[i], p[i+3])
			}
			return out
		}
	case *image.RGBA:
		p := packed(m.Pix, m.Stride, m.Rect.Dx()*4)
		out := make([]byte, 0, len(p)/4*3)
		for i := 0; i < len(p); i += 4 {
			out = append(out, p[i], p[i+1], p[i+2])
		}
		return out
	}
	t.Fatalf("image/png decoded a %T for %d channels", m, ch)
	return nil
}

// packed drops the padding at the end of each row, if any.
func packed(pix []byte, stride, row int) []byte {
	out := make([]byte, 0, len(pix))
	for y := 0; y < len(pix); y += stride {
		out = append(out, pix[y:y+row]...)
	}
	return out
}

var ffmpegFormat = [5]string{1: "gray", 2: "ya8", 3: "rgb24", 4: "rgba"}

// ffmpegPixels decodes the files with the ffmpeg CLI, a few dozen a process.
func ffmpegPixels(t testing.TB, files []string, chans []int) [][]byte {
	t.Helper()
	out := make([][]byte, len(files))
	for start := 0; start < len(files); start += 40 {
		end := min(start+40, len(files))
		args := []string{"-hide_banner", "-loglevel", "error"}
		for _, f := range files[start:end] {
			args = append(args, "-i", f)
		}
		for i, f := range files[start:end] {
			args = append(args, "-map", fmt.Sprint(i), "-f", "rawvideo", "-pix_fmt", ffmpegFormat[chans[start+i]], "-y", f+".ff")
		}
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg decoding %d files: %v\n%s", end-start, err, b)
		}
		for i, f := range files[start:end] {
			b, err := os.ReadFile(f + ".ff")
			if err != nil {
				t.Fatal(err)
			}
			out[start+i] = b
		}
	}
	return out
}

// pillow finds a Python with Pillow (Debian's python3-pil: scripts/setup-tests.sh).
var pillow = sync.OnceValue(func() string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import PIL.Image").Run() == nil {
			return py
		}
	}
	return ""
})

const pillowScript = `
import sys
from PIL import Image
for path in sys.argv[1:]:
    im = Image.open(path)
    im.load()
    with open(path + ".raw", "wb") as f:
        f.write(im.tobytes())
    with open(path + ".mode", "w") as f:
        f.write(im.mode)
`

var pillowMode = [5]string{1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

// pillowPixels decodes the files with libpng through Pillow, in one process.
func pillowPixels(t testing.TB, files []string) [][]byte {
	t.Helper()
	py := pillow()
	if py == "" {
		t.Fatal("Python's Pillow (python3-pil) is needed: run scripts/setup-tests.sh")
	}
	if len(files) == 0 {
		return nil
	}
	var errb bytes.Buffer
	cmd := exec.Command(py, append([]string{"-c", pillowScript}, files...)...)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("Pillow: %v\n%s", err, errb.String())
	}
	out := make([][]byte, len(files))
	for i, f := range files {
		raw, err1 := os.ReadFile(f + ".raw")
		mode, err2 := os.ReadFile(f + ".mode")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		out[i] = append([]byte(string(mode)+"\x00"), raw...)
	}
	return out
}

// checkImages encodes each image with the SIMD and the portable kernels,
// checks both wrote the same bytes, that the file decodes to the pixels with
// image/png, the ffmpeg CLI and libpng (Pillow), and that noise went out as
// stored blocks.
func checkImages(t *testing.T, ims []img) {
	simd, portable := &fastpng.Encoder{}, &fastpng.Encoder{Portable: true}
	dir := t.TempDir()
	var files []string
	var which []img
	var chans []int
	total, raw := 0, 0
	for _, im := range ims {
		b := encode(t, simd, im)
		if p := encode(t, portable, im); !bytes.Equal(b, p) {
			t.Fatalf("%s: the %s and portable kernels wrote different files (%d and %d bytes)", im.name, fastpng.Kernels(), len(b), len(p))
		}
		if got := goPixels(t, b, im.ch); !bytes.Equal(got, im.pix) {
			t.Fatalf("%s: image/png decodes other pixels", im.name)
		}
		if n := len(b); n > fastpng.MaxLen(im.w, im.h, im.ch) {
			t.Fatalf("%s: %d bytes, over MaxLen %d", im.name, n, fastpng.MaxLen(im.w, im.h, im.ch))
		}
		stored := storedLen(im)
		if im.stored && len(b) != stored {
			t.Fatalf("%s: noise took %d bytes, stored blocks %d", im.name, len(b), stored)
		}
		if len(b) > stored {
			t.Fatalf("%s: %d bytes, more than stored blocks (%d)", im.name, len(b), stored)
		}
		total, raw = total+len(b), raw+len(im.pix)
		if im.noExtra {
			continue
		}
		f := filepath.Join(dir, im.name+".png")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files, which, chans = append(files, f), append(which, im), append(chans, im.ch)
	}
	for i, got := range ffmpegPixels(t, files, chans) {
		if !bytes.Equal(got, which[i].pix) {
			t.Fatalf("%s: the ffmpeg CLI decodes other pixels", which[i].name)
		}
	}
	for i, got := range pillowPixels(t, files) {
		im := which[i]
		if want := pillowMode[im.ch] + "\x00"; !bytes.HasPrefix(got, []byte(want)) || !bytes.Equal(got[len(want):], im.pix) {
			t.Fatalf("%s: Pillow (libpng) decodes other pixels (mode %q)", im.name, got[:bytes.IndexByte(got, 0)])
		}
	}
	t.Logf("%d images, %d checked with the ffmpeg CLI and Pillow; %d bytes of %d raw; kernels %s", len(ims), len(files), total, raw, fastpng.Kernels())
}

// storedLen is the size of the PNG of im in stored deflate blocks.
func storedLen(im img) int {
	raw := im.h * (im.w*im.ch + 1)
	return 8 + 25 + 12 + 2 + raw + 5*((raw+65534)/65535) + 4 + 12
}

func TestSynthetic(t *testing.T) { checkImages(t, syntheticImages()) }

func TestVideoFrames(t *testing.T) { checkImages(t, videoFrames(t)) }

// TestZlibStream: the IDAT holds one zlib stream whose Adler-32 and length
// check out (compress/zlib verifies the checksum at the end).
func TestZlibStream(t *testing.T) {
	for _, im := range syntheticImages()[:40] {
		b := encode(t, &fastpng.Encoder{}, im)
		n := binary.BigEndian.Uint32(b[33:])
		zr, err := zlib.NewReader(bytes.NewReader(b[41 : 41+n]))
		if err != nil {
			t.Fatalf("%s: %v", im.name, err)
		}
		data, err := io.ReadAll(zr)
		if err != nil || len(data) != im.h*(im.w*im.ch+1) {
			t.Fatalf("%s: %d bytes inflated, %v", im.name, len(data), err)
		}
	}
}

// TestShort: a buffer too small says so (and a reused encoder carries on).
func TestShort(t *testing.T) {
	im := newImg("noise", 200, 100, 3, noise)
	e := &fastpng.Encoder{}
	for _, n := range []int{0, 10, 100, 1000, 30000} {
		if _, err := e.Encode(make([]byte, n), im.pix, im.w, im.h, im.ch); err != fastpng.ErrShort {
			t.Fatalf("%d bytes: %v, want ErrShort", n, err)
		}
	}
	if got := goPixels(t, encode(t, e, im), 3); !bytes.Equal(got, im.pix) {
		t.Fatal("other pixels after ErrShort")
	}
	if _, err := e.Encode(nil, im.pix[:100], im.w, im.h, im.ch); err == nil || err == fastpng.ErrShort {
		t.Fatalf("short pixels: %v", err)
	}
}

// FuzzEncode: any image (size and channels from the input) decodes back with
// image/png to its pixels, and both kernel sets write the same bytes.
func FuzzEncode(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint16(1), uint8(3))
	f.Add(bytes.Repeat([]byte{0}, 300), uint16(10), uint8(3))
	f.Add(bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 40), uint16(33), uint8(4))
	f.Add([]byte("the quick brown fox jumps over the lazy dog, again and again and again"), uint16(5), uint8(1))
	f.Add(bytes.Repeat([]byte{200, 16, 239, 15, 240, 128}, 100), uint16(40), uint8(2))
	simd, portable := &fastpng.Encoder{}, &fastpng.Encoder{Portable: true}
	f.Fuzz(func(t *testing.T, data []byte, w uint16, ch uint8) {
		c := int(ch%4) + 1
		width := int(w%2000) + 1
		if len(data) < width*c {
			return
		}
		h := len(data) / (width * c)
		pix := data[:width*h*c]
		im := img{name: "fuzz", w: width, h: h, ch: c, pix: pix}
		b := encode(t, simd, im)
		if p := encode(t, portable, im); !bytes.Equal(b, p) {
			t.Fatal("the kernels wrote different files")
		}
		if got := goPixels(t, b, c); !bytes.Equal(got, pix) {
			t.Fatal("image/png decodes other pixels")
		}
	})
}
