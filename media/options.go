package media

import "github.com/vpipe/vpipe/media/mediaopt"

// The options and names media takes are defined in mediaopt, which has no cgo
// (so core and config can carry them without FFmpeg); these are the same types
// and values under media's names.
type (
	// OpenOptions tune how an input is opened.
	OpenOptions = mediaopt.OpenOptions
	// Input is a byte source FFmpeg reads instead of opening a path or URL.
	Input = mediaopt.Input
	// EncodeOptions say how images are written.
	EncodeOptions = mediaopt.EncodeOptions
)

// Output image formats.
const (
	FormatPNG  = mediaopt.FormatPNG
	FormatJPEG = mediaopt.FormatJPEG
	FormatWebP = mediaopt.FormatWebP
)

// DefaultQuality is the JPEG and lossy WebP quality when none is given.
const DefaultQuality = mediaopt.DefaultQuality

// Formats lists the accepted output formats.
func Formats() []string { return mediaopt.Formats() }

// ScaleFilters lists the accepted scale filter names.
func ScaleFilters() []string { return mediaopt.ScaleFilters() }
