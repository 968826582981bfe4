package media_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/internal/testenv/testcorpus"
	"github.com/vpipe/vpipe/media"
)

// fileInput is an Input over a file that counts the bytes read.
type fileInput struct {
	f    *os.File
	size int64
	read int64
}

func (in *fileInput) Read(b []byte) (int, error) {
	n, err := in.f.Read(b)
	in.read += int64(n)
	return n, err
}
func (in *fileInput) Seek(o int64, w int) (int64, error) { return in.f.Seek(o, w) }
func (in *fileInput) Size() int64                        { return in.size }

func openInput(t *testing.T, path string) *fileInput {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	return &fileInput{f: f, size: st.Size()}
}

// TestInputMapsFromIndex: an MP4/MOV read through an Input is mapped from its
// sample table without fetching the payload, and the map is the one a full
// demux gives (PTS, keyframes and their positions, count); other containers
// are demuxed as before. Decoding all frames through the Input then reads the
// file about once, and gives the frames the file path gives.
func TestInputMapsFromIndex(t *testing.T) {
	for _, v := range append(append([]testcorpus.Video{}, testcorpus.All...), testcorpus.Long, testcorpus.LongOpenGOP) {
		t.Run(v.Name, func(t *testing.T) {
			path := testcorpus.Path(t, v)
			ref, err := media.Open(path, media.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			want, err := ref.Scan(0)
			if err != nil {
				t.Fatal(err)
			}
			in := openInput(t, path)
			got, err := media.Open(v.File, media.OpenOptions{Input: in})
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			x, err := got.Scan(0)
			if err != nil {
				t.Fatal(err)
			}
			mp4 := strings.HasSuffix(v.File, ".mp4")
			if x.FromIndex != mp4 {
				t.Fatalf("FromIndex %v for %s", x.FromIndex, v.File)
			}
			if fmt.Sprint(x.PTS, x.Keys, x.Count, x.Trusted, x.Complete) != fmt.Sprint(want.PTS, want.Keys, want.Count, want.Trusted, want.Complete) {
				t.Fatalf("map through the Input differs from the file's: %d/%d pts, %d/%d keys, count %d/%d, %v/%v %v/%v; first keys %v / %v",
					len(x.PTS), len(want.PTS), len(x.Keys), len(want.Keys), x.Count, want.Count, x.Trusted, want.Trusted, x.Complete, want.Complete, x.Keys[:min(3, len(x.Keys))], want.Keys[:3])
			}
			mapped := in.read
			all := make([]int, x.Count)
			for i := range all {
				all[i] = i
			}
			sums := func(vid *media.Video, x *media.Index) []string {
				var out []string
				if err := vid.Decode(context.Background(), x, all, media.DecodeOptions{}, func(p *media.Picture) error {
					out = append(out, fmt.Sprintf("%d:%x", p.Index, sha256.Sum256(p.Buf)))
					p.Release()
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			if a, b := sums(got, x), sums(ref, want); fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatal("frames through the Input differ from the file's")
			}
			ratio := float64(in.read) / float64(in.size)
			t.Logf("%s: %d bytes to map, %d in all, %.3f × the file", v.File, mapped, in.read, ratio)
			if strings.HasPrefix(v.Name, "long") && ratio > 1.1 {
				t.Fatalf("a full pass read %.2f × the file", ratio)
			}
		})
	}
}

// TestInputError: an Input failing mid-way fails the demux with its own error.
func TestInputError(t *testing.T) {
	path := testcorpus.Path(t, testcorpus.Long)
	in := &failing{fileInput: openInput(t, path)}
	v, err := media.Open("remote.mp4", media.OpenOptions{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	x, err := v.Scan(0)
	if err != nil {
		t.Fatal(err)
	}
	in.after = in.read + 1000
	var want []int
	for i := 700; i < 800; i++ {
		want = append(want, i)
	}
	err = v.Decode(context.Background(), x, want, media.DecodeOptions{}, func(p *media.Picture) error { p.Release(); return nil })
	if err == nil || !strings.Contains(err.Error(), "stream stalled (test)") || !strings.Contains(err.Error(), "remote.mp4") {
		t.Fatalf("%v", err)
	}
}

type failing struct {
	*fileInput
	after int64
}

func (f *failing) Read(b []byte) (int, error) {
	if f.after > 0 && f.read >= f.after {
		return 0, fmt.Errorf("stream stalled (test)")
	}
	return f.fileInput.Read(b)
}

var _ io.ReadSeeker = (*failing)(nil)
