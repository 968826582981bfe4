package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	_ "image/png" // the formats vpipe writes: PNG, JPEG, WebP
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"github.com/vpipe/vpipe/store"
)

// hashSpan is how much of each end of an image its content key reads.
const hashSpan = 64 << 10

// thumbPath is an image's thumbnail under the site folder, by width: the
// dataset's own folder names, and the image's content key in the file name,
// so a thumbnail is made once and made again only when its image changed or
// another width is asked.
func thumbPath(width int, e *entry, key string) string {
	return "thumbs/w" + strconv.Itoa(width) + "/" + e.DirKey + "/" + e.Name + "." + key + ".jpg"
}

// contentKey is what names an image's thumbnail: its size in bytes and the
// CRC-32 of its bytes, "<size>-<crc>". The size alone does not do: fastpng
// writes a noisy frame as stored blocks, whose size depends only on the
// frame's dimensions, so a run with other settings writes other images of the
// same sizes. An image over 2×hashSpan is hashed by its first and last
// hashSpan bytes, two ranged reads: a PNG ends with its zlib stream's Adler-32
// and the last IDAT's CRC, which change with any pixel, and a JPEG's or
// WebP's size changes with its content. head is the bytes read from the start
// (the whole image when whole), enough to read its size from.
func contentKey(ctx context.Context, st store.Store, key string, size int64) (k string, head []byte, whole bool, err error) {
	h := crc32.NewIEEE()
	if size <= 2*hashSpan {
		data, found, err := st.Get(ctx, key)
		if err != nil || !found {
			return "", nil, false, errors.Join(err, notFound(found, st.Name(key)))
		}
		h.Write(data)
		return fmt.Sprintf("%d-%08x", len(data), h.Sum32()), data, true, nil
	}
	var ends [2][]byte
	for i, off := range []int64{0, size - hashSpan} {
		if ends[i], err = readRange(ctx, st, key, off, hashSpan); err != nil {
			return "", nil, false, err
		}
		h.Write(ends[i])
	}
	return fmt.Sprintf("%d-%08x", size, h.Sum32()), ends[0], false, nil
}

// readRange reads n bytes of an object from off.
func readRange(ctx context.Context, st store.Store, key string, off, n int64) ([]byte, error) {
	r, err := st.NewRangeReader(ctx, key, off, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(key), err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, n))
	if err == nil && int64(len(b)) != n {
		err = fmt.Errorf("%d bytes at %d, want %d (changed while the preview was made)", len(b), off, n)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", st.Name(key), err)
	}
	return b, nil
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
