// Package testcorpus builds real test videos with the ffmpeg CLI (cached between
// runs) and extracts reference frames from them with the same CLI, so tests can
// hold vpipe's output against what ffmpeg gives for the same frame index.
package testcorpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Video is one corpus entry.
type Video struct {
	Name string
	File string // file name, extension included
	// Steps are ffmpeg argument lists run in order; "{out}" is the output path,
	// "{prev}" the previous step's output, "{stepN}" step N's (0-based).
	Steps [][]string
	// Frames is how many frames the video has.
	Frames int
	// Rotated tells that the stream carries a display matrix.
	Rotated bool
	// Exact is false where vpipe and the CLI convert pixels differently (none so far).
	Exact bool
	// Edit names a change made to the last step's output in Go (edits), "" for none.
	Edit string
}

const src = "testsrc2=s=%s:r=%s:d=%s"

func lavfi(size, rate, dur string) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf(src, size, rate, dur)}
}

func args(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func s(a ...string) []string { return a }

// All is the corpus: every trap the issue names.
var All = []Video{
	{Name: "h264_bframes", File: "h264_bframes.mp4", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "{out}"))}},
	{Name: "h264_nob", File: "h264_nob.mp4", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "0", "-g", "10", "-pix_fmt", "yuv420p", "{out}"))}},
	{Name: "h264_nocts", File: "h264_nocts.mp4", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "{out}")),
		s("-i", "{prev}", "-c", "copy", "-bsf:v", "setts=pts=DTS-STARTDTS:dts=DTS-STARTDTS", "{out}")}},
	{Name: "h264_avi", File: "h264_bframes.avi", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "{out}")),
		s("-i", "{prev}", "-c", "copy", "{out}")}},
	// 30 fps MP4 copied into AVI gets time base 1/60: the stream length says 180,
	// with empty chunks between the 90 frames.
	{Name: "h264_avi30", File: "h264_30fps.avi", Frames: 90, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "30", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "mp4", "{out}")),
		s("-i", "{prev}", "-c", "copy", "{out}")}},
	{Name: "h264_opengop", File: "h264_opengop.mp4", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-x264-params", "open-gop=1:keyint=12:min-keyint=12:scenecut=0", "-pix_fmt", "yuv420p", "{out}"))}},
	{Name: "mpegts", File: "h264.ts", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "mpegts", "{out}"))}},
	{Name: "hevc", File: "hevc.mp4", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "libx265", "-x265-params", "log-level=error:keyint=12:min-keyint=12:bframes=3:scenecut=0", "-tag:v", "hvc1", "-pix_fmt", "yuv420p", "{out}"))}},
	// Raw elementary streams: no container, so no timestamps (.h264, .hevc: none
	// at all; .m2v: DTS only on some packets), frames numbered by packet.
	{Name: "h264_raw", File: "h264.h264", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "h264", "{out}"))}},
	{Name: "h264_raw_opengop", File: "h264_opengop.264", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-x264-params", "open-gop=1:keyint=12:min-keyint=12:scenecut=0", "-pix_fmt", "yuv420p", "-f", "h264", "{out}"))}},
	{Name: "hevc_raw", File: "hevc.hevc", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "libx265", "-x265-params", "log-level=error:keyint=12:min-keyint=12:bframes=3:scenecut=0", "-pix_fmt", "yuv420p", "-f", "hevc", "{out}"))}},
	{Name: "mpeg4_raw", File: "mpeg4.m4v", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "mpeg4", "-bf", "2", "-g", "12", "-q:v", "4", "-f", "m4v", "{out}"))}},
	{Name: "mpeg2_raw", File: "mpeg2.m2v", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "mpeg2video", "-bf", "2", "-g", "12", "-q:v", "4", "-f", "mpeg2video", "{out}"))}},
	{Name: "vp9", File: "vp9.webm", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "libvpx-vp9", "-g", "15", "-auto-alt-ref", "1", "-lag-in-frames", "16", "-b:v", "200k", "-pix_fmt", "yuv420p", "{out}"))}},
	{Name: "mpeg4", File: "mpeg4.mp4", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-c:v", "mpeg4", "-bf", "2", "-g", "12", "-q:v", "4", "{out}"))}},
	{Name: "mpeg4_avi", File: "mpeg4.avi", Frames: 75, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "3"), s("-c:v", "mpeg4", "-bf", "2", "-g", "12", "-q:v", "4", "{out}"))}},
	{Name: "h264_10bit", File: "h264_10bit.mkv", Frames: 50, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2"), s("-c:v", "libx264", "-bf", "2", "-g", "10", "-pix_fmt", "yuv420p10le", "{out}"))}},
	{Name: "odd_size", File: "odd_321x241.webm", Frames: 40, Exact: true, Steps: [][]string{
		args(lavfi("321x241", "20", "2"), s("-c:v", "libvpx-vp9", "-g", "10", "-b:v", "300k", "-pix_fmt", "yuv420p", "{out}"))}},
	{Name: "vfr", File: "vfr.mp4", Frames: 60, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2.4"), s("-vf", "setpts='(N+floor(N/4)*0.5+floor(N/7)*1.25)/25/TB'", "-fps_mode", "vfr", "-c:v", "libx264", "-bf", "2", "-g", "9", "-pix_fmt", "yuv420p", "{out}"))}},
	// Written as a live stream: the segment and clusters have no declared size.
	{Name: "mkv_live", File: "live.mkv", Frames: 50, Exact: true, Steps: [][]string{
		args(lavfi("160x120", "25", "2"), s("-c:v", "libx264", "-bf", "2", "-g", "10", "-pix_fmt", "yuv420p", "-live", "1", "{out}"))}},
	{Name: "audio_first", File: "audio_first.mkv", Frames: 50, Exact: true, Steps: [][]string{
		s("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "lavfi", "-i", fmt.Sprintf(src, "160x120", "25", "2"),
			"-map", "0:a", "-map", "1:v", "-c:a", "libvorbis", "-c:v", "libx264", "-bf", "2", "-g", "10", "-pix_fmt", "yuv420p", "{out}")}},
	{Name: "rotated", File: "rotated.mp4", Frames: 40, Rotated: true, Exact: true, Steps: [][]string{
		args(lavfi("160x96", "20", "2"), s("-c:v", "libx264", "-bf", "2", "-g", "10", "-pix_fmt", "yuv420p", "{out}")),
		s("-i", "{prev}", "-c", "copy", "-metadata:s:v:0", "rotate=90", "{out}")}},
}

// Get returns the named corpus entry.
func Get(name string) Video {
	for _, v := range All {
		if v.Name == name {
			return v
		}
	}
	panic("testcorpus: no video " + name)
}

// Dir is where built videos are cached (VPIPE_TEST_CACHE, or the user cache dir).
func Dir() string {
	if d := os.Getenv("VPIPE_TEST_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "vpipe-test")
}

// Long is a 60 s 320x180 H.264 MP4 (25 fps, a keyframe every 2 s, moov first),
// some MB: for measuring bytes fetched on full and sparse passes. Not in All.
var Long = Video{Name: "long", File: "long.mp4", Frames: 1500, Exact: true, Steps: [][]string{
	args(lavfi("320x180", "25", "60"), s("-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "50", "-keyint_min", "50",
		"-sc_threshold", "0", "-b:v", "600k", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "{out}"))}}

// LongRaw is Long as a raw H.264 elementary stream (no container, no
// timestamps): for seeking by GOP (media/rawseek.go). Not in All.
var LongRaw = Video{Name: "long_raw", File: "long.h264", Frames: 1500, Exact: true, Steps: [][]string{
	args(lavfi("320x180", "25", "60"), s("-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "50", "-keyint_min", "50",
		"-sc_threshold", "0", "-b:v", "600k", "-pix_fmt", "yuv420p", "-f", "h264", "{out}"))}}

// LongOpenGOP is like Long with open GOPs (recovery-point I frames) and 3 B-frames.
var LongOpenGOP = Video{Name: "long_opengop", File: "long_opengop.mp4", Frames: 500, Exact: true, Steps: [][]string{
	args(lavfi("320x180", "25", "20"), s("-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-x264-params",
		"open-gop=1:keyint=25:min-keyint=25:scenecut=0:b-adapt=0", "-b:v", "800k", "-pix_fmt", "yuv420p", "{out}"))}}

// Camera is camera-like footage (testsrc2 with temporal noise, x264 veryfast
// with 3 B-frames at 8 Mb/s, as bench/bench.sh makes it), 1080p, 1 s: the
// frames the encoder benchmarks measure. Not in All.
var Camera = Video{Name: "camera", File: "camera_1080p.mp4", Frames: 30, Exact: true, Steps: [][]string{
	s("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-vf", "noise=alls=6:allf=t", "-frames:v", "30",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-b:v", "8M", "-pix_fmt", "yuv420p", "{out}")}}

// Clean is clean 1080p testsrc2 (x264 veryfast with 3 B-frames, as
// bench/bench.sh's clip), 1 s: the encoder benchmarks' other content. Not in All.
var Clean = Video{Name: "clean", File: "clean_1080p.mp4", Frames: 30, Exact: true, Steps: [][]string{
	s("-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=1", "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60",
		"-pix_fmt", "yuv420p", "{out}")}}

// CameraSmall is Camera's recipe at 320x180 (scaled to 2 Mb/s), 10 frames: for
// the encoders' round-trip tests.
var CameraSmall = Video{Name: "camera_small", File: "camera_320x180.mp4", Frames: 10, Exact: true, Steps: [][]string{
	s("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-vf", "noise=alls=6:allf=t", "-frames:v", "10",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "60", "-b:v", "2M", "-pix_fmt", "yuv420p", "{out}")}}

// ResolutionChange is an H.264 stream whose resolution changes mid-way by an
// in-band SPS: frames 0–44 are 320x240, frames 45–89 256x192 (two x264
// encodes with the same settings, joined at the bitstream level: MPEG-TS files
// concatenated byte by byte, the second one's timestamps offset by 1.88 s, its
// 45 frames plus the two frames' delay the muxer starts the first one with, so
// they follow the first's without a gap or an overlap), remuxed into File's
// container. Not in All (its frames do not share
// one size).
func ResolutionChange(file string) Video {
	enc := s("-c:v", "libx264", "-bf", "2", "-g", "15", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "mpegts")
	return Video{Name: "rezchange_" + strings.ReplaceAll(file, ".", "_"), File: file, Frames: 90, Exact: true, Steps: [][]string{
		args(lavfi("320x240", "25", "1.8"), enc, s("{out}")),
		args(lavfi("256x192", "25", "1.8"), enc, s("-output_ts_offset", "1.88", "{out}")),
		s("-i", "concat:{step0}|{step1}", "-c", "copy", "{out}"),
	}}
}

// FastStart is h264_bframes with its moov before the mdat (-movflags
// +faststart), as web uploads are: cut short, its sample table still lists
// every frame. Not in All.
var FastStart = Video{Name: "h264_faststart", File: "faststart.mp4", Frames: 75, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0",
		"-pix_fmt", "yuv420p", "-movflags", "+faststart", "{out}"))}}

// MKV is h264_bframes in Matroska (sizes declared, cues at the end). Not in All.
var MKV = Video{Name: "h264_mkv", File: "h264.mkv", Frames: 75, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "12", "-keyint_min", "12", "-sc_threshold", "0",
		"-pix_fmt", "yuv420p", "{out}"))}}

// MKV30, MKV30NoB and WebM30 are 3 s at 30 fps in Matroska/WebM, whose
// millisecond time base rounds the frame times (0, 33, 67, 100 …): gaps of
// 33 and 34 ms. Not in All.
var MKV30 = Video{Name: "h264_mkv30", File: "h264_30.mkv", Frames: 90, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "30", "3"), s("-c:v", "libx264", "-bf", "3", "-g", "30", "-pix_fmt", "yuv420p", "{out}"))}}

var MKV30NoB = Video{Name: "h264_mkv30_nob", File: "h264_30_nob.mkv", Frames: 90, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "30", "3"), s("-c:v", "libx264", "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p", "{out}"))}}

var WebM30 = Video{Name: "vp9_webm30", File: "vp9_30.webm", Frames: 90, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "30", "3"), s("-c:v", "libvpx-vp9", "-g", "30", "-auto-alt-ref", "1", "-lag-in-frames", "16", "-b:v", "200k",
		"-pix_fmt", "yuv420p", "{out}"))}}

// MPEG2TS is MPEG-2 video with B-frames in MPEG-TS (every packet
// timestamped); HEVCLayers is HEVC with a temporal sub-layer (x265 temporal-layers: its non-reference B-frames in
// sub-layer 1, RASL_N pictures in sub-layer 0). Not in All: for sparse
// decoding (media/sparse.go).
var MPEG2TS = Video{Name: "mpeg2_ts", File: "mpeg2.ts", Frames: 60, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "2.4"), s("-c:v", "mpeg2video", "-bf", "2", "-g", "12", "-q:v", "4", "-f", "mpegts", "{out}"))}}

var HEVCLayers = Video{Name: "hevc_layers", File: "hevc_layers.mp4", Frames: 60, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "2.4"), s("-c:v", "libx265", "-x265-params",
		"log-level=error:keyint=12:min-keyint=12:bframes=3:scenecut=0:temporal-layers=1", "-tag:v", "hvc1", "-pix_fmt", "yuv420p", "{out}"))}}

// MPEG4Packed is MPEG-4 part 2 by Xvid with 2 B-frames in AVI, in the
// "packed bitstream" DivX and Xvid write there (user data "DivX503b1393p"):
// a B-frame rides in the packet of the P-frame after it, and the packet
// that follows holds only a placeholder (an N-VOP). MPEG4PackedMKV is the same
// bitstream copied into Matroska, where every packet has a PTS. Not in All:
// for sparse decoding (media/sparse.go).
var MPEG4Packed = Video{Name: "mpeg4_packed", File: "mpeg4_packed.avi", Frames: 73, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libxvid", "-bf", "2", "-g", "12", "-q:v", "4", "{out}"))}}

var MPEG4PackedMKV = Video{Name: "mpeg4_packed_mkv", File: "mpeg4_packed.mkv", Frames: 73, Exact: true, Steps: [][]string{
	args(lavfi("160x120", "25", "3"), s("-c:v", "libxvid", "-bf", "2", "-g", "12", "-q:v", "4", "-f", "avi", "{out}")),
	s("-fflags", "+genpts", "-i", "{prev}", "-c", "copy", "{out}")}}

var buildMu sync.Mutex

// Path builds (or finds in the cache) the video and returns its path.
func Path(t testing.TB, v Video) string {
	t.Helper()
	RequireFFmpeg(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	h := sha256.New()
	for _, st := range v.Steps {
		fmt.Fprintln(h, strings.Join(st, "\x00"))
	}
	if v.Edit != "" {
		fmt.Fprintln(h, "edit", v.Edit)
	}
	key := hex.EncodeToString(h.Sum(nil))[:12]
	dir := filepath.Join(Dir(), v.Name+"-"+key)
	out := filepath.Join(dir, v.File)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	tmp, err := os.MkdirTemp(Dir(), ".build-")
	if err != nil {
		if err := os.MkdirAll(Dir(), 0o755); err != nil {
			t.Fatal(err)
		}
		if tmp, err = os.MkdirTemp(Dir(), ".build-"); err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(tmp)
	prev := ""
	for i, st := range v.Steps {
		o := filepath.Join(tmp, fmt.Sprintf("step%d-%s", i, v.File))
		a := []string{"-hide_banner", "-loglevel", "error", "-y"}
		for _, x := range st {
			x = strings.ReplaceAll(x, "{out}", o)
			x = strings.ReplaceAll(x, "{prev}", prev)
			for k := 0; k < i; k++ {
				x = strings.ReplaceAll(x, fmt.Sprintf("{step%d}", k), filepath.Join(tmp, fmt.Sprintf("step%d-%s", k, v.File)))
			}
			a = append(a, x)
		}
		if b, err := exec.Command("ffmpeg", a...).CombinedOutput(); err != nil {
			t.Fatalf("building %s: ffmpeg %s: %v\n%s", v.Name, strings.Join(a, " "), err, b)
		}
		prev = o
	}
	if v.Edit != "" {
		if err := edits[v.Edit](prev); err != nil {
			t.Fatalf("building %s: edit %s: %v", v.Name, v.Edit, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(prev, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// RequireFFmpeg fails the test when the ffmpeg CLI is missing (scripts/setup-tests.sh installs it).
func RequireFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("the ffmpeg CLI is needed by the tests: run scripts/setup-tests.sh (README command 2)")
	}
}

// SelectExpr is an ffmpeg select expression matching exactly these frame numbers.
func SelectExpr(indices []int) string {
	parts := make([]string, len(indices))
	for i, n := range indices {
		parts[i] = "eq(n\\," + strconv.Itoa(n) + ")"
	}
	return strings.Join(parts, "+")
}

// Reference returns the frames with these indices (select on n, passthrough timing)
// as packed RGB24, each w×h, decoded and converted by the ffmpeg CLI with the
// given swscale flags. scale is "" to keep the size, or "W:H".
func Reference(t testing.TB, path string, indices []int, scale, swsFlags string) (frames [][]byte, w, h int) {
	t.Helper()
	vf := "select='" + SelectExpr(indices) + "'"
	if scale != "" {
		vf += ",scale=" + scale + ":flags=" + swsFlags
	}
	a := []string{"-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v:0", "-vf", vf,
		"-fps_mode", "passthrough", "-sws_flags", swsFlags, "-pix_fmt", "rgb24", "-f", "rawvideo", "-"}
	var out, errb bytes.Buffer
	cmd := exec.Command("ffmpeg", a...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(a, " "), err, errb.String())
	}
	w, h = probeSize(t, path, scale)
	fs := 3 * w * h
	if out.Len() != fs*len(indices) {
		t.Fatalf("ffmpeg gave %d bytes for %d frames of %dx%d (want %d)", out.Len(), len(indices), w, h, fs*len(indices))
	}
	for i := range indices {
		frames = append(frames, out.Bytes()[i*fs:(i+1)*fs])
	}
	return frames, w, h
}

// probeSize is the display size the CLI produces (after autorotate and scale).
func probeSize(t testing.TB, path, scale string) (int, int) {
	if scale != "" {
		var w, h int
		if _, err := fmt.Sscanf(scale, "%d:%d", &w, &h); err == nil {
			return w, h
		}
	}
	a := []string{"-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-vcodec", "ppm", "-"}
	b, err := exec.Command("ffmpeg", a...).Output()
	if err != nil {
		t.Fatalf("ffmpeg size probe: %v", err)
	}
	var w, h int
	if _, err := fmt.Sscanf(string(b), "P6\n%d %d", &w, &h); err != nil {
		t.Fatalf("ffmpeg size probe: %v", err)
	}
	return w, h
}

// FrameCount counts decoded frames the way the CLI does (every frame, passthrough).
func FrameCount(t testing.TB, path string) int {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' || r == ',' })[0]))
	if err != nil {
		t.Fatalf("ffprobe %s: %q", path, b)
	}
	return n
}

// ZeroPacket copies the video to a temporary folder with the payload of its k-th
// video packet (decode order, 0-based) overwritten with zeros, as a damaged disk
// or transfer leaves it: the container still lists the packet, its bytes are gone.
func ZeroPacket(t testing.TB, path string, k int) string {
	t.Helper()
	return OverwritePacket(t, path, k, nil)
}

// OverwritePacket is ZeroPacket with the payload starting with head.
func OverwritePacket(t testing.TB, path string, k int, head []byte) string {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos,size",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	lines := strings.Fields(string(b))
	if k >= len(lines) {
		t.Fatalf("%s has %d video packets, not %d", path, len(lines), k+1)
	}
	var size, pos int
	if _, err := fmt.Sscanf(lines[k], "%d,%d", &size, &pos); err != nil {
		t.Fatalf("ffprobe packet %d of %s: %q", k, path, lines[k])
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[pos : pos+size])
	copy(data[pos:pos+size], head)
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
