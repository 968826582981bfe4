package stages

import (
	"fmt"

	"github.com/vpipe/vpipe/media"
)

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

// convertLate tells whether a frame is better converted to RGB by the encode
// stage than by the resize stage: when its RGB is larger than its decoded YUV
// (a full-size 1080p frame: 6.2 MB of RGB against 3.1 MB of YUV 4:2:0), the
// queues between the two stages then hold the smaller form, and RGB exists
// only inside the encoders (measured: ~30 MB less peak RSS at 1080p). A
// downscaled frame is converted early, where it shrinks.
func convertLate(f *frame) bool {
	w, h := f.job.size(f.pic)
	return 3*w*h > len(f.pic.Buf)
}

// convert turns the frame's picture into RGB at the output size with a
// converter from the pool, and lets the picture go.
func convert(convs chan *media.Converter, f *frame) error {
	w, h := f.job.size(f.pic)
	rgb, err := use(convs, func(c *media.Converter) (*media.RGB, error) { return c.Convert(f.pic, w, h) })
	f.pic.Release()
	f.pic = nil
	if err != nil {
		return fmt.Errorf("frame %d: %w", f.index, err)
	}
	f.rgb = rgb
	return nil
}

// decodeThreads is stages.decode.threads, or when it is 0 (auto) what vpipe
// picks (autoDecodeThreads).
func (r *Runner) decodeThreads(p *prepared) int {
	st := r.Config.Stages
	if st.Decode.Threads != 0 {
		return st.Decode.Threads
	}
	// Dense: at least half the frames between the first and the last decoded
	// are wanted (step 1, a window; not step 10, fps 1 or keyframes only).
	dense := len(p.decode) > 0 && 2*len(p.decode) >= p.decode[len(p.decode)-1]-p.decode[0]+1
	full := p.outW*p.outH >= p.video.Info.Width*p.video.Info.Height
	return autoDecodeThreads(st.Encode.Options(), dense, full)
}

// autoDecodeThreads is one decoder thread when every decoded frame becomes a
// full-size (or larger) PNG deflated by zlib (levels 2-9, ~20 ms and more a
// 1080p frame against ~9 ms to decode it): the encoders bound the run there,
// and FFmpeg's frame threads would only add frames in flight (~25 MB of peak
// RSS at 1080p). 0 (FFmpeg decides: frame threads) otherwise: PNG level 1
// (vpipe's own encoder, ~5 ms) and 0, JPEG, WebP, a downscale, sparse
// sampling, where decoding sets the pace (docs/metrics-and-tuning.md has the
// figures).
func autoDecodeThreads(o media.EncodeOptions, dense, full bool) int {
	if dense && full && o.Ext() == ".png" && o.Compression >= 2 {
		return 1
	}
	return 0
}
