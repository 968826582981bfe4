package stages

import "github.com/vpipe/vpipe/media"

// OutputFormat is what the output settings a dataset records say of the image
// format: the format, and for the lossy ones the quality (it decides the
// pixels; PNG's compression level does not). So a re-run with another format
// or quality into the same dataset is refused instead of mixing two kinds of
// image (their names differ by extension, so neither would be skipped).
func OutputFormat(o media.EncodeOptions) map[string]any {
	out := map[string]any{"format": media.FormatPNG}
	switch {
	case o.Format == media.FormatWebP && o.Lossless:
		out["format"], out["lossless"] = media.FormatWebP, true
	case o.Format == media.FormatJPEG || o.Format == media.FormatWebP:
		q := o.Quality
		if q <= 0 {
			q = media.DefaultQuality
		}
		out["format"], out["quality"] = o.Format, q
	}
	return out
}
