// Package config loads pipeline.yaml: ${VAR} / ${VAR:default} interpolation,
// defaults, VPIPE_* environment overrides and --set key.path=value overrides, in
// that order of precedence (last wins), then checks it and reports every problem
// with its key path.
package config

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/media/mediaopt"
	"github.com/vpipe/vpipe/registry"
)

// Config is a whole pipeline.
type Config struct {
	// Source and Sink are chosen by their type among the registered backends
	// (package registry); Load decodes their keys into the backend's struct.
	Source   Backend  `mapstructure:"source"`
	Sampling Sampling `mapstructure:"sampling"`
	Sink     Backend  `mapstructure:"sink"`
	// Sinks is the fan-out form: several sinks fed by one decode (instead of Sink).
	Sinks  []Backend `mapstructure:"-"` // read by sinkList, each element as sink is
	Stages Stages    `mapstructure:"stages"`
	// Sections are the top-level sections backends share (a service's
	// connection settings, registry.RegisterSection), decoded: name → the
	// section's struct. Read them with Section.
	Sections map[string]any `mapstructure:"-"`
}

// Backend is a configured source or sink: its type (the value of type:) and
// its settings, the struct its spec's Config returns with the config's keys
// decoded over the defaults (a pointer; nil when the type is unknown). A
// sink that is a store also has its Output: the layout written on it (the
// keys every store sink takes, format and split, and the chosen layout's
// section).
type Backend struct {
	Type   string           `mapstructure:"type"`
	Conf   any              `mapstructure:"-"`
	Output *registry.Output `mapstructure:"-"`
}

// SinkList is the sinks a run writes to: Sinks, or else the one Sink.
func (c *Config) SinkList() []Backend {
	if len(c.Sinks) > 0 {
		return c.Sinks
	}
	return []Backend{c.Sink}
}

// Section is a shared section, decoded, or its defaults when the config
// has none (a config built in code); nil when no backend registered it.
func (c *Config) Section(name string) any {
	if v, ok := c.Sections[name]; ok {
		return v
	}
	if sec, ok := registry.Section(name); ok {
		return sec.Config()
	}
	return nil
}

// NewBackend is a source (role registry.Source) or sink of type typ with
// keys (relative to its section) over the type's defaults, for a config
// built in code.
func NewBackend(role registry.Kind, typ string, keys map[string]any) (Backend, error) {
	spec, ok := registry.Lookup(role, typ)
	if !ok {
		return Backend{}, fmt.Errorf("unknown %s type %q (available: %s)", role, typ, strings.Join(registry.Names(role), ", "))
	}
	conf := spec.Config(role)
	rest := map[string]any{}
	for k, v := range keys {
		rest[k] = v
	}
	var out *registry.Output
	if role == registry.Sink && spec.Kind == registry.Store {
		var err error
		if out, err = decodeOutput(rest); err != nil {
			return Backend{}, fmt.Errorf("%s %s: %w", typ, role, err)
		}
	}
	if err := decode(rest, conf); err != nil {
		return Backend{}, fmt.Errorf("%s %s: %w", typ, role, err)
	}
	return Backend{Type: typ, Conf: conf, Output: out}, nil
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

// Stages tune each stage's pool.
type Stages struct {
	Decode Decode `mapstructure:"decode"`
	Resize Pool   `mapstructure:"resize"`
	Encode Encode `mapstructure:"encode"`
	Write  Pool   `mapstructure:"write"`
	// Batch, Upload and Annotate replace Write for a sink that uploads
	// batches of images (core.BatchSink).
	Batch    Batch `mapstructure:"batch"`
	Upload   Pool  `mapstructure:"upload"`
	Annotate Pool  `mapstructure:"annotate"`
}

// Batch groups a video's images for upload (at most the server's limit: a
// shared section's MaxBatch).
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

// Defaults are the values of every common key a file leaves out (a
// backend's keys have their spec's defaults; Keys lists them all). "Cores" are
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
		"source.type":               registry.Default(registry.Source),
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
		"sink.type":                 registry.Default(registry.Sink),
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

		// a sink that uploads batches of images
		"stages.batch.batch_size": 50,
		"stages.batch.queue":      2,
		"stages.upload.workers":   2,
		"stages.upload.queue":     2,
		"stages.annotate.workers": 1,
		"stages.annotate.queue":   2,
	}
}

// Keys lists every key a config takes, in order: the common ones, those of
// every registered source and sink type (under source. and sink.), and the
// shared sections'.
func Keys() []string { return slices.Clone(schema().keys) }

// IsBackendKey tells whether key is a source or sink type's own (source.url),
// documented with its type rather than with the common keys.
func IsBackendKey(key string) bool {
	top, rest, _ := strings.Cut(key, ".")
	_, isRole := schema().roles[top]
	return isRole && rest != "type"
}
