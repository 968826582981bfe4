package testcorpus

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// HostileMP4 writes a tiny real MP4 (two 64x64 frames, made by the ffmpeg
// CLI) whose sample tables are patched to declare samples more frames: stts's
// first entry counts them, stsc puts them all in the first chunk and stsz
// gives them a constant size of 100 bytes, so no per-sample entry is needed
// and the file stays ~2.6 KB.
func HostileMP4(t testing.TB, samples uint32) string {
	t.Helper()
	RequireFFmpeg(t)
	path := filepath.Join(t.TempDir(), "hostile.mp4")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		"testsrc2=s=64x64:r=25", "-frames:v", "2", "-c:v", "libx264", "-bf", "0", "-pix_fmt", "yuv420p", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	patched := 0
	var walk func(from, to int)
	walk = func(from, to int) {
		for pos := from; pos+8 <= to; {
			size := int(binary.BigEndian.Uint32(b[pos:]))
			if size < 8 || pos+size > to {
				return
			}
			c := pos + 8 // the box's content
			switch string(b[pos+4 : pos+8]) {
			case "moov", "trak", "mdia", "minf", "stbl":
				walk(c, pos+size)
			case "stts": // version/flags, entry_count, {sample_count, delta}…
				binary.BigEndian.PutUint32(b[c+8:], samples)
				patched++
			case "stsc": // version/flags, entry_count, {first_chunk, samples_per_chunk, id}…
				binary.BigEndian.PutUint32(b[c+12:], samples)
				patched++
			case "stsz": // version/flags, sample_size, sample_count
				binary.BigEndian.PutUint32(b[c+4:], 100)
				binary.BigEndian.PutUint32(b[c+8:], samples)
				patched++
			}
			pos += size
		}
	}
	walk(0, len(b))
	if patched != 3 {
		t.Fatalf("%s: patched %d of stts, stsc, stsz", path, patched)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Zeros makes a sparse file of size zero bytes named name (no disk blocks).
func Zeros(t testing.TB, name string, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}
