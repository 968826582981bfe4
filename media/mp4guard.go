package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Hostile MP4s. FFmpeg's MP4/MOV demuxer sizes its index by the sample counts
// the sample tables declare: a 2.4 KB file whose stsz says 60 million samples
// of a constant size (no per-sample entries needed) and whose stsc puts them
// all in one chunk has it build 60 million index entries, 2.8 GB of memory,
// before it reads a byte of payload. checkSampleTables reads the counts with
// a small box reader before FFmpeg opens the file and refuses a track that
// declares more samples than its bytes can hold.

// maxTrackSamples bounds the samples of one track FFmpeg indexes one by one
// (~47 bytes each, measured, so ~400 MB at most): 77 hours at 30 fps.
const maxTrackSamples = 1 << 23

// minSampleBytes is what each sample FFmpeg indexes one by one takes in the
// file at the least: its entry in stsz, or its payload when the size is
// constant. A file declaring more samples than its size allows for is lying.
const minSampleBytes = 4

// trackTables are the counts one trak's sample tables declare.
type trackTables struct {
	handler     string // hdlr: vide, soun, …
	sampleSize  int64  // stsz: the constant size, 0 when each sample's is listed
	samples     int64  // stsz / stz2 sample count
	stszBytes   int64  // the stsz box's content
	sttsEntries int64
	sttsFirst   int64 // the first stts entry's sample delta
	sttsSamples int64 // samples the stts entries add up to
}

// checkSampleTables refuses an MP4/MOV whose sample tables declare more
// samples than the file can hold, naming the file, the track and the box.
// Other containers, and files it cannot read, are left to FFmpeg.
func (v *Video) checkSampleTables() error {
	r, size, done := v.rawReader()
	if r == nil {
		return nil
	}
	defer done()
	moov, end, ok := findMoov(r, size)
	if !ok {
		return nil
	}
	k := 0
	return walkBoxes(r, moov, end, func(typ string, off, end int64) error {
		if typ != "trak" {
			return nil
		}
		k++
		t := trackTables{}
		readTrak(r, off, end, &t)
		if err := t.judge(size); err != "" {
			return fmt.Errorf("%s: refused: track %d (%s) of the MP4 %s", v.name, k, t.handler, err)
		}
		return nil
	})
}

// judge tells what is wrong with a track's declared counts ("" = nothing).
func (t trackTables) judge(size int64) string {
	if t.handler == "soun" && t.sampleSize > 0 && t.sttsEntries == 1 && t.sttsFirst == 1 {
		// PCM-like audio: FFmpeg indexes it by chunk (1024 samples an entry at
		// most), not sample by sample.
		return ""
	}
	switch {
	case t.samples > maxTrackSamples:
		return fmt.Sprintf("declares %d samples (stsz), more than vpipe indexes in one track (%d)", t.samples, maxTrackSamples)
	case t.sttsSamples > maxTrackSamples:
		return fmt.Sprintf("declares %d samples (stts), more than vpipe indexes in one track (%d)", t.sttsSamples, maxTrackSamples)
	case t.sampleSize > 0 && t.samples > size/max(t.sampleSize, minSampleBytes):
		return fmt.Sprintf("declares %d samples of %d bytes each (stsz) in a file of %d bytes",
			t.samples, t.sampleSize, size)
	case t.sampleSize == 0 && t.stszBytes > 0 && t.samples > (t.stszBytes-12)/4:
		return fmt.Sprintf("declares %d samples (stsz) but lists the sizes of %d", t.samples, (t.stszBytes-12)/4)
	}
	return ""
}

// rawReader reads the video's bytes before FFmpeg does: the local file, or
// the Input. nil when neither can be read that way (a URL FFmpeg fetches).
func (v *Video) rawReader() (r io.ReaderAt, size int64, done func()) {
	if in := v.opts.Input; in != nil {
		return inputReaderAt{in}, in.Size(), func() {}
	}
	st, err := os.Stat(v.src)
	if err != nil || !st.Mode().IsRegular() {
		return nil, 0, nil
	}
	f, err := os.Open(v.src)
	if err != nil {
		return nil, 0, nil // FFmpeg's open says why
	}
	return f, st.Size(), func() { f.Close() }
}

// findMoov walks the top-level boxes of an MP4/MOV and returns where the
// moov's children start and end; ok is false when the file is no MP4 or has
// no whole moov.
func findMoov(r io.ReaderAt, size int64) (start, end int64, ok bool) {
	var h [8]byte
	if n, _ := r.ReadAt(h[:], 0); n < 8 || !mp4Start[string(h[4:8])] {
		return 0, 0, false
	}
	err := walkBoxes(r, 0, size, func(typ string, off, e int64) error {
		if typ == "moov" {
			start, end, ok = off, e, true
			return io.EOF
		}
		return nil
	})
	return start, end, ok && err == io.EOF
}

// readTrak reads the counts of one trak's sample tables into t (a table it
// cannot read is left at zero: FFmpeg says what it makes of it).
func readTrak(r io.ReaderAt, from, to int64, t *trackTables) {
	walkBoxes(r, from, to, func(typ string, off, end int64) error {
		switch typ {
		case "mdia", "minf", "stbl":
			readTrak(r, off, end, t)
		case "hdlr": // version/flags, pre_defined, handler_type
			if b := readField(r, off, end, 12); b != nil {
				t.handler = string(b[8:12])
			}
		case "stsz", "stz2": // version/flags, sample_size (stz2: field size), sample_count
			if b := readField(r, off, end, 12); b != nil {
				if typ == "stsz" {
					t.sampleSize = int64(binary.BigEndian.Uint32(b[4:8]))
					t.stszBytes = end - off
				}
				t.samples = int64(binary.BigEndian.Uint32(b[8:12]))
			}
		case "stts":
			readStts(r, off, end, t)
		}
		return nil
	})
}

// readStts adds up the samples the stts entries declare (each entry's bytes
// are in the box: reading them is bounded by the file).
func readStts(r io.ReaderAt, off, end int64, t *trackTables) {
	b := readField(r, off, end, 8)
	if b == nil {
		return
	}
	n := int64(binary.BigEndian.Uint32(b[4:8]))
	if n > (end-off-8)/8 {
		n = (end - off - 8) / 8 // FFmpeg stops where the box does
	}
	t.sttsEntries = n
	buf := make([]byte, 64<<10)
	for i := int64(0); i < n; {
		k := min(n-i, int64(len(buf)/8))
		if m, _ := r.ReadAt(buf[:8*k], off+8+8*i); int64(m) < 8*k {
			return
		}
		for j := int64(0); j < k; j++ {
			if i+j == 0 {
				t.sttsFirst = int64(binary.BigEndian.Uint32(buf[4:8]))
			}
			t.sttsSamples += int64(binary.BigEndian.Uint32(buf[8*j : 8*j+4]))
		}
		i += k
	}
}

// readField reads the first n bytes of a box's content (nil if it has fewer).
func readField(r io.ReaderAt, off, end int64, n int) []byte {
	b := make([]byte, n)
	if end-off < int64(n) {
		return nil
	}
	if k, _ := r.ReadAt(b, off); k < n {
		return nil
	}
	return b
}
