package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// box32 is a box header with a 32-bit size followed by n bytes of content.
func box32(typ string, size uint32, n int) []byte {
	b := binary.BigEndian.AppendUint32(nil, size)
	return append(append(b, typ...), make([]byte, n)...)
}

// box64 is a box header with a 64-bit size followed by n bytes of content.
func box64(typ string, size uint64, n int) []byte {
	b := append(binary.BigEndian.AppendUint32(nil, 1), typ...)
	return append(binary.BigEndian.AppendUint64(b, size), make([]byte, n)...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestMP4BoxWalkers pins what the truncation check (mp4BoxesEnd) and the
// sample-table guard's walker (walkBoxes) make of box headers at their
// corners: sizes of 0 ("to the end") and 1 (64-bit), sizes under a header,
// headers cut by the end of the file, boxes running past it.
func TestMP4BoxWalkers(t *testing.T) {
	cases := []struct {
		name    string
		data    []byte
		endBox  string // the first box past the end of the file
		end     int64  // where it ends; 0 when none is
		visited string // walkBoxes over the whole file: type@content-end
	}{
		{"whole", cat(box32("ftyp", 16, 8), box32("moov", 12, 4)), "", 0, "ftyp@8-16 moov@24-28"},
		{"past EOF", cat(box32("ftyp", 16, 8), box32("mdat", 100, 4)), "mdat", 116, "ftyp@8-16"},
		{"size 0", cat(box32("ftyp", 16, 8), box32("mdat", 0, 20)), "", 0, "ftyp@8-16 mdat@24-44"},
		{"64-bit", cat(box32("ftyp", 16, 8), box64("mdat", 20, 4)), "", 0, "ftyp@8-16 mdat@32-36"},
		{"64-bit past EOF", cat(box32("ftyp", 16, 8), box64("mdat", 1<<40, 4)), "mdat", 16 + 1<<40, "ftyp@8-16"},
		{"64-bit cut", cat(box32("ftyp", 16, 8), box32("mdat", 1, 4)), "mdat", 32, "ftyp@8-16"},
		{"64-bit under its header", cat(box32("ftyp", 16, 8), box64("mdat", 12, 0), box32("free", 8, 0)), "", 0, "ftyp@8-16"},
		{"64-bit negative", cat(box32("ftyp", 16, 8), box64("mdat", 1<<63+5, 4)), "", 0, "ftyp@8-16"},
		{"size under 8", cat(box32("ftyp", 16, 8), box32("junk", 5, 8)), "", 0, "ftyp@8-16"},
		{"header cut", cat(box32("ftyp", 16, 8), []byte{0, 0, 0}), "header", 24, "ftyp@8-16"},
		{"header cut in type", cat(box32("ftyp", 16, 8), []byte{0, 0, 0, 9, 'm', 'o'}), "header", 24, "ftyp@8-16"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(c.data))
		box, end := mp4BoxesEnd(f, size)
		if c.end == 0 && end > size || c.end > 0 && (box != c.endBox || end != c.end) {
			t.Errorf("%s: mp4BoxesEnd = %q, %d (file: %d bytes); want %q, %d", c.name, box, end, size, c.endBox, c.end)
		}
		var seen []string
		walkBoxes(f, 0, size, func(typ string, off, end int64) error {
			seen = append(seen, fmt.Sprintf("%s@%d-%d", typ, off, end))
			return nil
		})
		if got := strings.Join(seen, " "); got != c.visited {
			t.Errorf("%s: walkBoxes visited %q, want %q", c.name, got, c.visited)
		}
		f.Close()
	}
}
