package media

import "fmt"

// quality is o's JPEG / lossy WebP quality: DefaultQuality when none is given.
func quality(o EncodeOptions) int {
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
		return newJPEGEncoder(quality(o))
	case FormatWebP:
		return &webpEncoder{quality: quality(o), lossless: o.Lossless}, nil
	}
	return nil, fmt.Errorf("unknown image format %q (available: png, jpeg, webp)", o.Format)
}
