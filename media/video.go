// Package media is vpipe's only door to FFmpeg: it demuxes, decodes, converts and
// encodes, and it alone handles C memory (every packet and frame is unreferenced or
// freed here). Everything it hands out is Go memory.
package media

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/asticode/go-astiav"
)

// endedEarly holds the inputs whose demuxer reported an element cut by the end
// of the file ("File ended prematurely", Matroska), which FFmpeg only logs: it
// drops the cut block and reports a clean end of file.
var endedEarly sync.Map // *astiav.FormatContext → struct{}

// demuxErrors holds, per input, the first error its demuxer logged (and then
// went past): a Matroska demuxer that meets a broken element ("Invalid
// length", "invalid as first byte of an EBML number") resyncs at the next
// cluster and reads on, handing out the packets after the hole as if none
// were lost, so the frames after it would move up into the lost ones' indices.
var demuxErrors sync.Map // *astiav.FormatContext → string

func init() {
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		fc, ok := c.(*astiav.FormatContext)
		if !ok {
			return
		}
		if strings.Contains(msg, "File ended prematurely") {
			endedEarly.Store(fc, struct{}{})
		} else if l <= astiav.LogLevelError {
			demuxErrors.LoadOrStore(fc, strings.TrimSpace(msg))
		}
	})
}

// Versions reports the FFmpeg library versions vpipe runs against.
func Versions() string {
	return fmt.Sprintf("libavformat %s, libavcodec %s, libswscale %s",
		versionString(libavformatVersion()), versionString(libavcodecVersion()), versionString(libswscaleVersion()))
}

// Info describes a video's first video stream.
type Info struct {
	Codec     string
	Width     int // stored (coded) width
	Height    int
	Rotation  int // clockwise degrees to display it upright: 0, 90, 180 or 270
	TimeBase  astiav.Rational
	FrameRate float64
	Format    string // container name
}

// DisplaySize is the size after applying Rotation.
func (i Info) DisplaySize() (w, h int) {
	if i.Rotation == 90 || i.Rotation == 270 {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// Video is an opened input.
type Video struct {
	src  string // what to open
	name string // what to call it in errors (no credentials)
	opts OpenOptions

	fc     *astiav.FormatContext
	stream *astiav.Stream
	Info   Info
	stats  DecodeStats
	cio    *customIO // when reading an Input
	fresh  bool      // opened, and nothing read or sought since

	// Salvage maps and decodes a damaged video instead of failing it: Scan
	// goes past the damage (Index.Damage says what it found) and Decode
	// leaves out the frames it cannot vouch for, naming each (DecodeOptions.Lost).
	Salvage bool
	damage  string   // the first damage Scan went past
	local   *os.File // a local raw stream read through customIO (rawbudget.go)
}

// Redact strips credentials and query strings from a URL so it can be shown.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// Open opens a file path or URL and finds its first video stream.
func Open(src string, opts OpenOptions) (*Video, error) {
	v := &Video{src: src, name: Redact(src), opts: opts}
	if err := v.open(); err != nil {
		v.closeLocal()
		return nil, err
	}
	return v, nil
}

// open opens the input and finds its video stream: the checks made before
// FFmpeg reads it, the demuxer (a second time through customIO for a local raw
// stream, whose reads are then bounded), the stream-info probe, the stream.
func (v *Video) open() error {
	if err := v.guard(); err != nil {
		return err
	}
	fc, err := v.openFormat()
	if err != nil {
		return err
	}
	if v.readRawLocally(fc.InputFormat().Name()) {
		fc.CloseInput()
		fc.Free()
		if fc, err = v.openFormat(); err != nil {
			return err
		}
	}
	if err := v.probe(fc); err != nil {
		return err
	}
	st, err := v.videoStream(fc)
	if err != nil {
		return err
	}
	v.fc, v.stream = fc, st
	v.fresh = true
	v.Info = streamInfo(fc, st)
	return nil
}

// guard refuses, before FFmpeg reads a byte, an empty local file and an MP4
// whose sample tables declare more than it can hold (before FFmpeg builds an
// index of what the file declares).
func (v *Video) guard() error {
	if st, err := os.Stat(v.src); err == nil && st.Mode().IsRegular() && st.Size() == 0 {
		return fmt.Errorf("%s: empty file (0 bytes)", v.name)
	}
	return v.checkSampleTables()
}

// openFormat opens the demuxer (over customIO when reading an Input).
func (v *Video) openFormat() (*astiav.FormatContext, error) {
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return nil, fmt.Errorf("%s: cannot allocate a format context", v.name)
	}
	d := v.openOptions()
	defer d.Free()
	if v.opts.Input != nil {
		if err := v.openCustomIO(fc); err != nil {
			fc.Free()
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	if err := fc.OpenInput(v.src, nil, d); err != nil {
		fc.Free()
		v.freeIO()
		if terr := v.checkLength(); terr != nil {
			return nil, terr // say why it cannot be read, when it can be told
		}
		return nil, fmt.Errorf("%s: not a readable media file: %w", v.name, v.wrapIOErr(err))
	}
	return fc, nil
}

// openOptions are the demuxer's (network) options from OpenOptions.
func (v *Video) openOptions() *astiav.Dictionary {
	d := astiav.NewDictionary()
	if len(v.opts.Headers) > 0 {
		var b strings.Builder
		for k, val := range v.opts.Headers {
			fmt.Fprintf(&b, "%s: %s\r\n", k, val)
		}
		_ = d.Set("headers", b.String(), 0)
	}
	if v.opts.Timeout > 0 {
		_ = d.Set("rw_timeout", fmt.Sprint(v.opts.Timeout.Microseconds()), 0)
	}
	if v.opts.Reconnect {
		_ = d.Set("reconnect", "1", 0)
		_ = d.Set("reconnect_on_network_error", "1", 0)
		_ = d.Set("reconnect_on_http_error", "5xx", 0)
		_ = d.Set("reconnect_delay_max", "7", 0) // waits of 0, 1, 3, 7 s
	}
	return d
}

// probe reads the stream info (a raw stream's reads bounded by limitRaw),
// closing fc when it fails.
func (v *Video) probe(fc *astiav.FormatContext) error {
	v.limitRaw(fc.InputFormat().Name())
	if err := fc.FindStreamInfo(nil); err != nil {
		fc.CloseInput()
		fc.Free()
		refused := v.refusal()
		v.freeIO()
		if refused != nil {
			return refused
		}
		if terr := v.checkLength(); terr != nil {
			return terr
		}
		return fmt.Errorf("%s: cannot read stream info: %w", v.name, v.wrapIOErr(err))
	}
	if v.cio != nil {
		v.cio.limit = 0 // until readPackets
	}
	return nil
}

// videoStream finds the first video stream, closing fc when there is none
// with a picture size.
func (v *Video) videoStream(fc *astiav.FormatContext) (*astiav.Stream, error) {
	var st *astiav.Stream
	for _, s := range fc.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			st = s
			break
		}
	}
	if st == nil {
		fc.CloseInput()
		fc.Free()
		v.freeIO()
		if terr := v.checkLength(); terr != nil {
			return nil, terr
		}
		return nil, fmt.Errorf("%s: no video stream", v.name)
	}
	if cp := st.CodecParameters(); cp.Width() <= 0 || cp.Height() <= 0 {
		fc.CloseInput()
		fc.Free()
		v.freeIO()
		return nil, fmt.Errorf("%s: video stream has no picture size", v.name)
	}
	return st, nil
}

// streamInfo describes the video stream st of fc.
func streamInfo(fc *astiav.FormatContext, st *astiav.Stream) Info {
	cp := st.CodecParameters()
	info := Info{
		Codec:    cp.CodecID().Name(),
		Width:    cp.Width(),
		Height:   cp.Height(),
		Rotation: rotation(st),
		TimeBase: st.TimeBase(),
		Format:   fc.InputFormat().Name(),
	}
	if r := st.AvgFrameRate(); r.Den() != 0 && r.Num() != 0 {
		info.FrameRate = r.Float64()
	} else if r := st.RFrameRate(); r.Den() != 0 {
		info.FrameRate = r.Float64()
	}
	return info
}

// rotation reads the display matrix the way the ffmpeg CLI's autorotate does.
func rotation(st *astiav.Stream) int {
	b := st.SideData(astiav.PacketSideDataTypeDisplaymatrix)
	if len(b) < 36 {
		return 0
	}
	m, err := astiav.NewDisplayMatrixFromBytes(b)
	if err != nil {
		return 0
	}
	theta := m.Rotation()
	theta -= 360 * math.Floor(theta/360+0.9/360)
	switch {
	case math.Abs(theta-90) < 1:
		return 90
	case math.Abs(theta-180) < 1:
		return 180
	case math.Abs(theta-270) < 1:
		return 270
	}
	return 0
}

// Close releases the input.
func (v *Video) Close() {
	v.closeInput()
	v.closeLocal()
}

func (v *Video) closeInput() {
	if v.fc != nil {
		endedEarly.Delete(v.fc)
		demuxErrors.Delete(v.fc)
		v.fc.CloseInput()
		v.fc.Free()
		v.fc = nil
	}
	v.freeIO()
}

func (v *Video) freeIO() {
	if v.cio != nil {
		v.cio.free()
		v.cio = nil
	}
}

// Name is the input as it may be shown (credentials removed).
func (v *Video) Name() string { return v.name }

// rewind reopens the input at its start; demuxers without an index cannot be
// trusted to seek back exactly, and reopening costs one probe.
func (v *Video) rewind() error {
	if v.fresh {
		return nil // already at the start: no second probe (for remote inputs, no second fetch)
	}
	v.closeInput()
	return v.open()
}

var errStop = errors.New("stop")

// readPackets calls fn with every packet of the video stream until EOF, an error,
// or fn returning errStop. The packet is unreferenced after fn returns.
func (v *Video) readPackets(fn func(p *astiav.Packet) error) error {
	p := astiav.AllocPacket()
	defer p.Free()
	idx := v.stream.Index()
	v.fresh = false
	for {
		v.limitRaw(v.Info.Format)
		if err := v.fc.ReadFrame(p); err != nil {
			if r := v.refusal(); r != nil {
				return r
			}
			if errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if v.Salvage && errors.Is(err, astiav.ErrInvaliddata) {
				// Bytes the demuxer cannot read past: the end of what can be salvaged.
				v.noteDamage(fmt.Errorf("%s: demux: %w", v.name, err))
				return nil
			}
			return fmt.Errorf("%s: demux: %w", v.name, v.wrapIOErr(err))
		}
		if v.opts.Progress != nil {
			v.opts.Progress.Add(1)
		}
		var err error
		if p.StreamIndex() == idx {
			err = fn(p)
		}
		p.Unref()
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func versionString(v uint) string { return fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff) }

// sortInt64 sorts timestamps in place.
func sortInt64(s []int64) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }
