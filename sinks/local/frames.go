package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/atomicfile"
	"github.com/vpipe/vpipe/layouts/project"
)

// FramesRecordFile, in a vpipe frames folder, says what made its images: which
// video and with which output settings. A later run into the folder that would
// make other pixels under the same names is refused instead of skipping them.
const FramesRecordFile = ".vpipe-frames.json"

// FrameName is the file name vpipe frames gives frame i in a format whose
// extension is ext (".png").
func FrameName(i int, ext string) string { return fmt.Sprintf("frame_%06d%s", i, ext) }

// frameFile matches the names FrameName makes, in any format: the files a
// frames folder's record speaks for, and the ones --overwrite removes.
var frameFile = regexp.MustCompile(`^frame_[0-9]{6,}\.(png|jpg|webp)$`)

// FramesRecord is what made a frames folder's images.
type FramesRecord struct {
	Video VideoID `json:"video"`
	// Output holds the settings that decide an image's pixels (not the frame
	// range, which only decides which images exist, nor the PNG compression).
	Output map[string]any `json:"output"`
}

// VideoID identifies a video file cheaply: its size and a hash of its first
// and last 64 KiB (where containers keep their index). Path and ModTime are
// recorded to name it; a moved or touched copy of the same bytes still matches.
type VideoID struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256_head_tail"`
}

const idChunk = 64 << 10

// IdentifyVideo reads a video file's identity.
func IdentifyVideo(path string) (VideoID, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return VideoID{}, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return VideoID{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return VideoID{}, err
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, idChunk); err != nil && err != io.EOF {
		return VideoID{}, fmt.Errorf("%s: %w", path, err)
	}
	if tail := st.Size() - idChunk; tail > idChunk {
		if _, err := io.Copy(h, io.NewSectionReader(f, tail, idChunk)); err != nil {
			return VideoID{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if st.Size() > idChunk {
		if _, err := io.Copy(h, io.NewSectionReader(f, idChunk, st.Size()-idChunk)); err != nil {
			return VideoID{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return VideoID{Path: abs, Size: st.Size(), ModTime: st.ModTime().UTC().Truncate(time.Second), SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// URLVideo identifies a video that is not a local file by its address alone.
func URLVideo(redacted string) VideoID { return VideoID{Path: redacted} }

// same tells whether two identities are the same bytes (for a URL: the same address).
func (v VideoID) same(o VideoID) bool {
	if v.SHA256 == "" || o.SHA256 == "" {
		return v.SHA256 == o.SHA256 && v.Path == o.Path
	}
	return v.Size == o.Size && v.SHA256 == o.SHA256
}

func (v VideoID) String() string {
	if v.SHA256 == "" {
		return v.Path
	}
	return fmt.Sprintf("%s (%d bytes, modified %s)", v.Path, v.Size, v.ModTime.Format(time.RFC3339))
}

// canonical is v as sorted, compact JSON, for comparing and showing settings.
func canonical(v any) string {
	b, _ := json.Marshal(v)
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

// checkRecord compares the folder's record with this run's, and clears the
// folder's frames when told to overwrite (whether they match or not). It runs before anything is listed
// or written, so a refused run changes nothing.
func (f *Flat) checkRecord() error {
	path := filepath.Join(f.Dir, FramesRecordFile)
	frames, err := f.frameFiles()
	if err != nil {
		return err
	}
	var stale string // why the folder's frames cannot be kept; "" = they can
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var have FramesRecord
		if err := json.Unmarshal(b, &have); err != nil {
			stale = fmt.Sprintf("%s cannot be read (%v)", path, err)
		} else if ho, wo := canonical(core.OutputWithDefaults(have.Output)), canonical(core.OutputWithDefaults(f.Record.Output)); !have.Video.same(f.Record.Video) || ho != wo {
			stale = fmt.Sprintf("%s holds %d frames of %s made with %s; this run makes frames of %s with %s",
				f.Dir, len(frames), have.Video, ho, f.Record.Video, wo)
		}
	case os.IsNotExist(err):
		if len(frames) > 0 {
			stale = fmt.Sprintf("%s holds %d frame_* images (e.g. %s) that no %s describes, so vpipe cannot tell what made them",
				f.Dir, len(frames), frames[0], FramesRecordFile)
		}
	default:
		return err
	}
	if stale != "" && len(frames) > 0 && !f.Overwrite {
		return fmt.Errorf("%s: use --overwrite to replace them, or another folder", stale)
	}
	if f.Overwrite {
		for _, n := range frames {
			if err := os.Remove(filepath.Join(f.Dir, n)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	b, err = project.MarshalJSON(f.Record)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, false, "")
}

// frameFiles lists the folder's files named like vpipe's frames, sorted.
func (f *Flat) frameFiles() ([]string, error) {
	entries, err := os.ReadDir(f.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && frameFile.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
