package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/zlib"

	"github.com/vpipe/vpipe/media/fastpng"
)

// PNGEncoder encodes RGB images as standard 8-bit RGB PNGs, written straight
// into a pooled output buffer. Level 1 is vpipe's own encoder (media/fastpng:
// Huffman-only deflate with zero runs, a table fitted per image, SIMD), about
// 4x faster than the zlib path below and ~15 % smaller on camera-like 1080p
// frames. The other levels filter every row with Up (the byte above
// subtracted) and deflate one IDAT chunk with github.com/klauspost/compress at
// that zlib level: measured on 1080p frames of a camera-like clip (one core),
// Up + klauspost level 1 took about 23 ms a frame and 1.17 MB, where FFmpeg's
// PNG encoder at level 1 (no filter, zlib) took ~40 ms for 1.46 MB and
// libdeflate level 1 with the same filter ~25 ms (filter pass included) for
// 1.15 MB. One per goroutine.
type PNGEncoder struct {
	level int
	fast  *fastpng.Encoder // level 1
	zw    *zlib.Writer
	row   []byte // one filtered row: the filter byte, then 3*width bytes
	out   outBuf
	// guess is, by image size, the largest output so far: where the next
	// output buffer of that size starts. By size, because encoders are shared
	// by every video of a run: a 1080p video's guess would put each frame of a
	// small one in a buffer of megabytes.
	guess map[[2]int]int
}

// NewPNGEncoder uses vpipe's own encoder at level 1, zlib level 0 (stored) or
// 2 to 9 (smallest) otherwise; klauspost/compress takes the same levels as
// zlib, each faster than zlib's.
func NewPNGEncoder(level int) *PNGEncoder {
	e := &PNGEncoder{level: level}
	if level == 1 {
		e.fast = &fastpng.Encoder{}
	}
	return e
}

var pngSignature = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}

// Encode returns the PNG file bytes of im, in a pooled buffer: hand it back with
// PutBuf once written.
func (e *PNGEncoder) Encode(im *RGB) ([]byte, error) {
	w, h := im.Width, im.Height
	stride := 3 * w
	if w <= 0 || h <= 0 || len(im.Pix) < stride*h {
		return nil, fmt.Errorf("png: %dx%d image with %d bytes of pixels", w, h, len(im.Pix))
	}
	size := [2]int{w, h}
	guess := e.sizeGuess(size, stride*h)
	if e.fast != nil {
		return e.encodeFast(im, size, guess)
	}
	e.out.start(guess + guess/8)
	o := &e.out
	o.Write(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits a sample, truecolour
	o.chunk("IHDR", ihdr[:])

	at := len(o.b)
	o.Write([]byte{0, 0, 0, 0, 'I', 'D', 'A', 'T'})
	if e.zw == nil {
		zw, err := zlib.NewWriterLevel(o, e.level)
		if err != nil {
			o.free()
			return nil, fmt.Errorf("png: %w", err)
		}
		e.zw = zw
	} else {
		e.zw.Reset(o)
	}
	if cap(e.row) < stride+1 {
		e.row = make([]byte, stride+1)
	}
	row := e.row[:stride+1]
	row[0] = 0 // the first row: no row above, filter None
	copy(row[1:], im.Pix[:stride])
	if _, err := e.zw.Write(row); err != nil {
		o.free()
		return nil, fmt.Errorf("png: %w", err)
	}
	row[0] = 2 // Up
	for y := 1; y < h; y++ {
		upFilter(row[1:], im.Pix[y*stride:(y+1)*stride], im.Pix[(y-1)*stride:y*stride])
		if _, err := e.zw.Write(row); err != nil {
			o.free()
			return nil, fmt.Errorf("png: %w", err)
		}
	}
	if err := e.zw.Close(); err != nil {
		o.free()
		return nil, fmt.Errorf("png: %w", err)
	}
	n := len(o.b) - at - 8
	if n > 1<<31-1 {
		o.free()
		return nil, errors.New("png: image data over 2 GiB")
	}
	binary.BigEndian.PutUint32(o.b[at:], uint32(n))
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(o.b[at+4:]))
	o.Write(crc[:])
	o.chunk("IEND", nil)
	e.guess[size] = max(guess, len(o.b))
	return o.take(), nil
}

// sizeGuess: the output buffer starts at the largest output of this image
// size so far (+1/8), or at a quarter of the raw size for the first image, so
// after the first frames every output comes from one size class and the pool
// holds no buffers of the classes it grew through.
func (e *PNGEncoder) sizeGuess(size [2]int, raw int) int {
	guess := e.guess[size]
	if guess == 0 {
		guess = raw / 4
		if e.guess == nil || len(e.guess) >= 8 { // a few sizes at once: the videos being decoded
			e.guess = map[[2]int]int{}
		}
	}
	return guess
}

// encodeFast encodes with media/fastpng into a pooled buffer of the guessed
// size, or, when that is short, of the most the image can take.
func (e *PNGEncoder) encodeFast(im *RGB, size [2]int, guess int) ([]byte, error) {
	buf := getBufClass(guess + guess/8)
	b, err := e.fast.Encode(buf, im.Pix, im.Width, im.Height, 3)
	if err == fastpng.ErrShort {
		PutBuf(buf)
		buf = getBufClass(fastpng.MaxLen(im.Width, im.Height, 3))
		b, err = e.fast.Encode(buf, im.Pix, im.Width, im.Height, 3)
	}
	if err != nil {
		PutBuf(buf)
		return nil, err
	}
	e.guess[size] = max(guess, len(b))
	return b, nil
}

// upFilter writes cur - prev, byte by byte, to dst (PNG filter type 2).
func upFilter(dst, cur, prev []byte) {
	// Eight bytes at a time; the bytes do not borrow from each other because
	// each lane's difference is taken modulo 256 (SWAR: high bits fixed up).
	n := len(dst) &^ 7
	const hi = 0x8080808080808080
	for i := 0; i < n; i += 8 {
		a := binary.LittleEndian.Uint64(cur[i:])
		b := binary.LittleEndian.Uint64(prev[i:])
		d := ((a | hi) - (b &^ hi)) ^ ((a ^ ^b) & hi)
		binary.LittleEndian.PutUint64(dst[i:], d)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = cur[i] - prev[i]
	}
}

// Close releases the encoder.
func (e *PNGEncoder) Close() {
	e.zw = nil
	if e.fast != nil {
		*e.fast = fastpng.Encoder{} // its scratch rows
	}
}

// outBuf is an io.Writer into a pooled buffer that moves to a larger pooled
// buffer when it fills, so an encoder writes its output in place.
type outBuf struct{ b []byte }

func (o *outBuf) start(n int) { o.b = getBufClass(n)[:0] }

func (o *outBuf) Write(p []byte) (int, error) {
	if len(o.b)+len(p) > cap(o.b) {
		nb := getBufClass(max(2*cap(o.b), len(o.b)+len(p)))[:len(o.b)]
		copy(nb, o.b)
		PutBuf(o.b)
		o.b = nb
	}
	o.b = append(o.b, p...)
	return len(p), nil
}

// chunk writes a PNG chunk: length, type, data, CRC of type and data.
func (o *outBuf) chunk(typ string, data []byte) {
	var head [8]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(data)))
	copy(head[4:], typ)
	o.Write(head[:])
	o.Write(data)
	c := crc32.NewIEEE()
	c.Write(head[4:])
	c.Write(data)
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], c.Sum32())
	o.Write(crc[:])
}

// take hands the buffer over to the caller.
func (o *outBuf) take() []byte {
	b := o.b
	o.b = nil
	return b
}

func (o *outBuf) free() {
	PutBuf(o.b)
	o.b = nil
}
