package preview

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // the formats vpipe writes: PNG, JPEG, WebP
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// thumbPath is an image's thumbnail under the site folder, by width: the
// dataset's own folder names, and the image's size in bytes in the file name,
// so a thumbnail is made once and made again only when its image changed
// (the store lists sizes, not modification times) or another width is asked.
func thumbPath(width int, e *entry) string {
	return "thumbs/w" + strconv.Itoa(width) + "/" + e.DirKey + "/" + e.Name + "." + strconv.FormatInt(e.Size, 10) + ".jpg"
}

// haveThumb tells whether the thumbnail is already there.
func haveThumb(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}

// makeThumb decodes an image and writes it width pixels wide (never wider
// than it is) as a JPEG at path, atomically.
func makeThumb(data []byte, width int, path string) error {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("empty image")
	}
	tw := min(width, w)
	th := max(1, (h*tw+w/2)/w)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	// BiLinear widens its kernel as it shrinks, so a frame scaled down 8x
	// averages its pixels rather than picking every 8th (ApproxBiLinear).
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return err
	}
	return writeAtomic(path, out.Bytes())
}

// writeAtomic writes a file by a temporary beside it and a rename, so a
// preview stopped half-way leaves no half thumbnail to be taken as made.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// imageSize reads an image's size from its header (0, 0 when it does not read).
func imageSize(data []byte) (w, h int) {
	c, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0
	}
	return c.Width, c.Height
}
