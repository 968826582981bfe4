// Package mediaopt holds what is said to media without touching FFmpeg: how
// to open an input and how to write images, and the names (formats, scale
// filters) a config accepts. It has no cgo, so packages that only carry these
// values (core, config) build and test without FFmpeg; media re-exports every
// name here under the same name (media.OpenOptions is OpenOptions).
package mediaopt

import (
	"io"
	"sync/atomic"
	"time"
)

// Input is a byte source FFmpeg reads instead of opening a path or URL itself:
// an object on a server read with Range requests, say. vpipe owns the
// transport (timeouts, reconnects, counting bytes); FFmpeg sees a seekable file.
type Input interface {
	io.ReadSeeker
	// Size is the length in bytes.
	Size() int64
}

// OpenOptions tune how an input is opened.
type OpenOptions struct {
	// Headers are sent with HTTP(S) requests (e.g. an API key); never logged.
	Headers map[string]string
	// Timeout bounds each network read/write; 0 means FFmpeg's default.
	Timeout time.Duration
	// Input, when set, is read instead of opening the source (which then only
	// names the video in errors).
	Input Input
	// Reconnect (HTTP) reconnects after a cut connection, a network error or a
	// 5xx answer, and goes on reading at the same offset (up to ~10 s of waits).
	Reconnect bool
	// Progress, when set, counts every packet read from the container (the
	// map and the decode): a cheap sign that the video is being read.
	Progress *atomic.Int64
}

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

// ScaleFilters lists the accepted resize filter names, as in swscale (and the
// ffmpeg CLI's -sws_flags); media maps each to its swscale flag.
func ScaleFilters() []string {
	return []string{"fast_bilinear", "bilinear", "bicubic", "neighbor", "area", "lanczos"}
}
