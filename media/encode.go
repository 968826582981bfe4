package media

import "fmt"

// Output image formats.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatWebP = "webp"
)

// Formats lists the accepted output formats.
func Formats() []string { return []string{FormatJPEG, FormatPNG, FormatWebP} }

// DefaultQuality is the JPEG and lossy WebP quality when none is given.
const DefaultQuality = 90

// EncodeOptions say how images are written.
type EncodeOptions struct {
	Format      string // png ("" too), jpeg or webp
	Compression int    // png: zlib level 0–9
	Quality     int    // jpeg and lossy webp: 1–100; 0 = DefaultQuality
	Lossless    bool   // webp: lossless (Quality is then unused)
}

// Ext is the file name extension images of this format get (".png", ".jpg", ".webp").
func (o EncodeOptions) Ext() string {
	switch o.Format {
	case FormatJPEG:
		return ".jpg"
	case FormatWebP:
		return ".webp"
	}
	return ".png"
}

func (o EncodeOptions) quality() int {
	if o.Quality <= 0 {
		return DefaultQuality
	}
	return min(o.Quality, 100)
}

// Encoder turns RGB images into image files. Encode returns the file's bytes in
// a pooled buffer: hand it back with PutBuf once written. One per goroutine.
type Encoder interface {
	Encode(im *RGB) ([]byte, error)
	Close()
}

// NewEncoder makes an encoder for the options' format.
func NewEncoder(o EncodeOptions) (Encoder, error) {
	switch o.Format {
	case "", FormatPNG:
		return NewPNGEncoder(o.Compression), nil
	case FormatJPEG:
		return newJPEGEncoder(o.quality())
	case FormatWebP:
		return &webpEncoder{quality: o.quality(), lossless: o.Lossless}, nil
	}
	return nil, fmt.Errorf("unknown image format %q (available: png, jpeg, webp)", o.Format)
}
