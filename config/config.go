// Package config loads pipeline.yaml: ${VAR} / ${VAR:default} interpolation,
// defaults, VPIPE_* environment overrides and --set key.path=value overrides, in
// that order of precedence (last wins), then checks it and reports every problem
// with its key path.
package config

import (
	"runtime"

	"github.com/vpipe/vpipe/media/mediaopt"
)

// Config is a whole pipeline.
type Config struct {
	Source   Source   `mapstructure:"source"`
	Sampling Sampling `mapstructure:"sampling"`
	Sink     Sink     `mapstructure:"sink"`
	// Sinks is the fan-out form: several sinks fed by one decode (instead of Sink).
	Sinks  []Sink `mapstructure:"-"` // read by sinkList, each element over the sink defaults
	Stages Stages `mapstructure:"stages"`
	// Supervisely is how to reach the platform (a supervisely source or sink).
	Supervisely Supervisely `mapstructure:"supervisely"`
}

// SinkList is the sinks a run writes to: Sinks, or else the one Sink.
func (c *Config) SinkList() []Sink {
	if len(c.Sinks) > 0 {
		return c.Sinks
	}
	return []Sink{c.Sink}
}

// Supervisely configures the API client. The token is only ever read from the
// environment (API_TOKEN).
type Supervisely struct {
	// ServerAddress overrides SERVER_ADDRESS / SUPERVISELY_API_SERVER_ADDRESS.
	ServerAddress string `mapstructure:"server_address"`
	// Retries per call; 0 = SUPERVISELY_PUBLIC_API_RETRIES or the SDK's 10.
	Retries int `mapstructure:"retries"`
	// RetrySleepMs is the backoff base; 0 = SUPERVISELY_PUBLIC_API_RETRY_SLEEP_SEC or 1 s.
	RetrySleepMs int `mapstructure:"retry_sleep_ms"`
	// TimeoutS bounds one attempt of one API call.
	TimeoutS int `mapstructure:"timeout_s"`
	// ReadTimeoutS: a video stream that brings no byte for this long is resumed.
	ReadTimeoutS int `mapstructure:"read_timeout_s"`
}

// Source says where videos come from.
type Source struct {
	Type string `mapstructure:"type"`
	// Path is a video file, a folder of videos, or a Supervisely video project (local).
	Path string `mapstructure:"path"`
	// s3: where (s3://BUCKET/PREFIX) and how to reach it. Credentials come
	// from the standard AWS chain, never from this file.
	URL       string `mapstructure:"url"`
	Endpoint  string `mapstructure:"endpoint"`   // "" = AWS
	Region    string `mapstructure:"region"`     // "" = AWS_REGION / the profile's
	PathStyle bool   `mapstructure:"path_style"` // with an endpoint: ENDPOINT/BUCKET; false = BUCKET.ENDPOINT
	// MaxAttempts per request, the first included (retries back off on 5xx,
	// SlowDown, resets, timeouts).
	MaxAttempts int `mapstructure:"max_attempts"`
	// TimeoutS gives up an attempt that makes no progress for this long (a
	// server that stopped answering); it never cuts a transfer that moves.
	TimeoutS int `mapstructure:"timeout_s"`
	// ProjectID is the video project on the server (supervisely).
	ProjectID int `mapstructure:"project_id"`
	// DatasetIDs, if any, limit the datasets sampled (supervisely).
	DatasetIDs []int `mapstructure:"dataset_ids"`
	// Download is "stream" (read through FFmpeg with Range requests) or "file"
	// (videos.download into a temporary file).
	Download string `mapstructure:"download"`
}

// Sampling says which frames to take and how to shape them.
type Sampling struct {
	Start           int    `mapstructure:"start"`
	End             *int   `mapstructure:"end"`
	Step            int    `mapstructure:"step"`
	OnlyAnnotated   bool   `mapstructure:"only_annotated"`
	Resize          Resize `mapstructure:"resize"`
	CopyAnnotations bool   `mapstructure:"copy_annotations"`
	Autorotate      bool   `mapstructure:"autorotate"`
	// Which frames, beyond start/end/step (README, "Which frames"): at most one
	// of FPS, MaxFPS, Frames, Times, FramesFile, KeyframesOnly.
	FPS           float64  `mapstructure:"fps"`
	MaxFPS        float64  `mapstructure:"max_fps"`
	Frames        []int    `mapstructure:"frames"`
	Times         []string `mapstructure:"times"` // seconds or "HH:MM:SS.mmm"
	FramesFile    string   `mapstructure:"frames_file"`
	KeyframesOnly bool     `mapstructure:"keyframes_only"`
	// Content rules, decided while decoding.
	SceneThreshold float64 `mapstructure:"scene_threshold"` // 0 = off
	Dedup          Dedup   `mapstructure:"dedup"`
	// OnDamage is "fail" (a damaged video fails whole) or "salvage" (its
	// frames that decode cleanly are written, the others listed).
	OnDamage string `mapstructure:"on_damage"`
}

// Dedup drops near-duplicate frames; off while Distance is null.
type Dedup struct {
	Distance *int `mapstructure:"distance"`
}

// Resize is the output size; 0 on one side keeps the aspect ratio, 0 on both keeps the size.
type Resize struct {
	Height int    `mapstructure:"height"`
	Width  int    `mapstructure:"width"`
	Filter string `mapstructure:"filter"`
}

// Sink says where images go.
type Sink struct {
	Type string `mapstructure:"type"`
	Path string `mapstructure:"path"`
	// s3: as in Source.
	URL         string `mapstructure:"url"`
	Endpoint    string `mapstructure:"endpoint"`
	Region      string `mapstructure:"region"`
	PathStyle   bool   `mapstructure:"path_style"`
	MaxAttempts int    `mapstructure:"max_attempts"`
	TimeoutS    int    `mapstructure:"timeout_s"`
	// ProjectID writes into an existing image project (supervisely).
	ProjectID int `mapstructure:"project_id"`
	// WorkspaceID is where a new project goes when the source is not on the server.
	WorkspaceID int `mapstructure:"workspace_id"`
	// OverwriteAnnotations re-sends the annotations of images already there.
	OverwriteAnnotations bool `mapstructure:"overwrite_annotations"`
	// Fsync (local) syncs each file before its rename and its folder after.
	Fsync bool `mapstructure:"fsync"`
}

// Stages tune each stage's pool.
type Stages struct {
	Decode Decode `mapstructure:"decode"`
	Resize Pool   `mapstructure:"resize"`
	Encode Encode `mapstructure:"encode"`
	Write  Pool   `mapstructure:"write"`
	// Batch, Upload and Annotate replace Write for a supervisely sink.
	Batch    Batch `mapstructure:"batch"`
	Upload   Pool  `mapstructure:"upload"`
	Annotate Pool  `mapstructure:"annotate"`
}

// Batch groups a video's images for upload (at most 50: the server's limit).
type Batch struct {
	BatchSize int `mapstructure:"batch_size"`
	Queue     int `mapstructure:"queue"`
}

// Pool is a stage's goroutine count and output queue capacity.
type Pool struct {
	Workers int `mapstructure:"workers"`
	Queue   int `mapstructure:"queue"`
}

// Decode: workers are videos decoded at once; threads are FFmpeg's per video.
type Decode struct {
	Workers int `mapstructure:"workers"`
	Queue   int `mapstructure:"queue"`
	Threads int `mapstructure:"threads"`
}

// Encode: the image format (png, jpeg, webp); PNG zlib level 0 (none) – 9
// (smallest); JPEG / lossy WebP quality 1–100 (0 = mediaopt.DefaultQuality);
// lossless WebP.
type Encode struct {
	Workers     int    `mapstructure:"workers"`
	Queue       int    `mapstructure:"queue"`
	Format      string `mapstructure:"format"`
	Compression int    `mapstructure:"compression"`
	Quality     int    `mapstructure:"quality"`
	Lossless    bool   `mapstructure:"lossless"`
}

// Options are the encoder's settings.
func (e Encode) Options() mediaopt.EncodeOptions {
	return mediaopt.EncodeOptions{Format: e.Format, Compression: e.Compression, Quality: e.Quality, Lossless: e.Lossless}
}

// cores is GOMAXPROCS as the runtime chose it at start (the CPUs the process
// may use), read before main gives Go one P more (cmd/vpipe goMaxProcs).
var cores = runtime.GOMAXPROCS(0)

// Cores are the CPUs the process may use: GOMAXPROCS at start.
func Cores() int { return cores }

// Defaults are the values of every key a file leaves out. "Cores" are
// GOMAXPROCS: the CPUs the process may use, which since Go 1.25 follows a
// container's CPU limit (a pod limited to 2 CPUs on a 64-core node sizes its
// pools for 2, not 64). The stage pools follow the cores and the stages' costs
// as vpipe's own counters show them (--stages; README "Where the time goes"):
// encode, the costliest step, one worker per core; resize one per core too
// (scaling 1080p down costs about what encoding the small PNG does: with one
// worker it was the busiest stage); decode one video per two cores, each on
// FFmpeg's threads; write 2 (I/O).
func Defaults() map[string]any {
	n := Cores()
	q := max(2, n) // measured on 2 cores: queue 2 runs as fast as 4, with 17 MB less peak RSS at 1080p
	// The queues that carry frames (decode, resize, encode) are 0: each link
	// between two stages still holds one frame (its forwarder), which keeps the
	// encoders fed (decoding and converting a 1080p frame takes ~7 ms, encoding
	// its PNG ~23 ms), and each frame more in a queue is 3-6 MB of peak RSS at
	// 1080p (measured: queues 2 -> 0 took a full-size PNG run from 181 to 163 MB).
	return map[string]any{
		"source.type":               "local",
		"source.path":               "",
		"source.url":                "",
		"source.endpoint":           "",
		"source.region":             "",
		"source.path_style":         true,
		"source.max_attempts":       8,
		"source.timeout_s":          60, // as the source's reads of a video body
		"sampling.start":            0,
		"sampling.end":              nil,
		"sampling.step":             1,
		"sampling.only_annotated":   false,
		"sampling.resize.height":    0,
		"sampling.resize.width":     0,
		"sampling.resize.filter":    "bicubic",
		"sampling.copy_annotations": true,
		"sampling.autorotate":       true,
		"sampling.fps":              0.0,
		"sampling.max_fps":          0.0,
		"sampling.frames":           []int{},
		"sampling.times":            []string{},
		"sampling.frames_file":      "",
		"sampling.keyframes_only":   false,
		"sampling.scene_threshold":  0.0,
		"sampling.dedup.distance":   nil,
		"sampling.on_damage":        "fail",
		"sink.type":                 "local",
		"sink.path":                 "out",
		"sink.url":                  "",
		"sink.endpoint":             "",
		"sink.region":               "",
		"sink.path_style":           true,
		"sink.max_attempts":         8,
		"sink.timeout_s":            30,
		"sink.fsync":                false,
		"stages.decode.workers":     max(1, n/2),
		"stages.decode.queue":       0, // frames: see q above
		"stages.decode.threads":     0,
		"stages.resize.workers":     n,
		"stages.resize.queue":       0, // frames: see q above
		"stages.encode.workers":     n,
		"stages.encode.queue":       0, // frames: see q above
		"stages.encode.compression": 1,
		"stages.encode.format":      "png",
		"stages.encode.quality":     0,
		"stages.encode.lossless":    false,
		"stages.write.workers":      2,
		"stages.write.queue":        q,

		// supervisely source and sink
		"stages.batch.batch_size":    50,
		"stages.batch.queue":         2,
		"stages.upload.workers":      2,
		"stages.upload.queue":        2,
		"stages.annotate.workers":    1,
		"stages.annotate.queue":      2,
		"source.project_id":          0,
		"source.dataset_ids":         []int{},
		"source.download":            "stream",
		"sink.project_id":            0,
		"sink.workspace_id":          0,
		"sink.overwrite_annotations": false,
		"supervisely.server_address": "",
		"supervisely.retries":        0,
		"supervisely.retry_sleep_ms": 0,
		"supervisely.timeout_s":      60,
		"supervisely.read_timeout_s": 30,
	}
}
