package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func problems(t *testing.T, err error) string {
	t.Helper()
	var ps *config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want *config.Problems, got %v", err)
	}
	return ps.Error()
}

func TestDefaultsAndOverrides(t *testing.T) {
	videos := t.TempDir()
	p := write(t, "source:\n  path: ${VIDEOS:"+videos+"}\nsampling:\n  step: 2\n")
	c, err := config.Load(p, []string{"sampling.end=40", "sink.path=elsewhere"}, []string{"VPIPE_SAMPLING_START=3"})
	if err != nil {
		t.Fatal(err)
	}
	if localSrc(c.Source).Path != videos || c.Sampling.Step != 2 || c.Sampling.Start != 3 ||
		c.Sampling.End == nil || *c.Sampling.End != 40 || localOut(c.Sink).Path != "elsewhere" || !c.Sampling.Autorotate {
		t.Fatalf("%+v", c)
	}
	other := t.TempDir()
	c, err = config.Load(p, nil, []string{"VIDEOS=" + other})
	if err != nil || localSrc(c.Source).Path != other || c.Sampling.End != nil {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestEveryProblemNamed(t *testing.T) {
	p := write(t, `source:
  path: `+t.TempDir()+`
  tpye: local
sampling:
  stpe: 2
  step: zero
  start: -1
  resize: {height: -5, filter: cubic}
stages:
  encode: {compression: 12}
sink:
  path: ${OUT}
`)
	err := problems(t, mustFail(config.Load(p, []string{"sampling.nope=1"}, []string{"VPIPE_SINK_PAHT=x"})))
	for _, want := range []string{
		"source.tpye: unknown key (did you mean source.type?)",
		"sampling.stpe: unknown key (did you mean sampling.step?)",
		`sampling.step: want an integer, got "zero"`,
		"${OUT} is not set",
		"sampling.nope: unknown key (in --set)",
		"VPIPE_SINK_PAHT sets no key (did you mean VPIPE_SINK_PATH?)",
		// range problems are listed alongside the type problems
		"sampling.start: must be >= 0", `sampling.resize.filter: unknown filter "cubic"`, "stages.encode.compression: must be 0–9",
	} {
		if !strings.Contains(err, want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
	// range problems are reported once the types are right
	p = write(t, "source: {path: "+t.TempDir()+"}\nsampling: {start: -1, step: 0, resize: {height: -5, filter: cubic}}\nstages: {encode: {compression: 12}, write: {workers: 0}}\n")
	err = problems(t, mustFail(config.Load(p, nil, nil)))
	for _, want := range []string{"sampling.start: must be >= 0", "sampling.step: must be >= 1", "sampling.resize.height",
		`sampling.resize.filter: unknown filter "cubic"`, "stages.encode.compression: must be 0–9", "stages.write.workers"} {
		if !strings.Contains(err, want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}

// Variables that do not look like key overrides belong to someone else.
func TestOtherVariablesIgnored(t *testing.T) {
	v := t.TempDir()
	p := write(t, "source:\n  path: ${VPIPE_VIDEOS:"+t.TempDir()+"}\n")
	c, err := config.Load(p, nil, []string{"VPIPE_VIDEOS=" + v, "VPIPE_TEST_CACHE=/tmp/c", "VPIPE_CPUPROFILE=/tmp/p"})
	if err != nil || localSrc(c.Source).Path != v {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = config.Load(p, nil, []string{"VPIPE_SAMPLING_STPE=2"})
	if err == nil || !strings.Contains(err.Error(), "VPIPE_SAMPLING_STPE sets no key (did you mean VPIPE_SAMPLING_STEP?)") {
		t.Fatalf("%v", err)
	}
	_, err = config.Load(p, nil, []string{"VPIPE_SINKPATH=2"})
	if err == nil || !strings.Contains(err.Error(), "VPIPE_SINKPATH sets no key (did you mean VPIPE_SINK_PATH?)") {
		t.Fatal("a near miss of VPIPE_SINK_PATH is not reported")
	}
}

func mustFail(_ *config.Config, err error) error { return err }

// load loads text with the given --set overrides and environment.
func load(t *testing.T, text string, sets []string, env ...string) (*config.Config, error) {
	t.Helper()
	return config.Load(write(t, text), sets, env)
}

// Item 14: a variable's value is a value. It is put into the parsed YAML, never
// pasted into the text, so ": ", " #", a leading "*" or brackets stay part of it.
func TestInterpolationKeepsValues(t *testing.T) {
	src := t.TempDir()
	for _, v := range []string{"a: b", "x #y", "*anchor", "[1, 2]", "{k: v}", "&a b", "- item", `"quoted"`, "|"} {
		c, err := load(t, "source: {path: "+src+"}\nsink:\n  path: ${OUT}   # where images go\n", nil, "OUT="+v)
		if err != nil {
			t.Errorf("OUT=%q: %v", v, err)
			continue
		}
		if localOut(c.Sink).Path != v {
			t.Errorf("OUT=%q: sink.path = %q", v, localOut(c.Sink).Path)
		}
	}
	// In flow style too, and mixed with text; a reference in a comment is no value.
	c, err := load(t, "# ${UNSET} in a comment is not interpolated\nsource: {path: ${SRC}}\n"+
		"stages: {decode: {workers: ${W}, queue: ${Q:3}}}\nsink: {path: '${SRC}/out-${W}'}\n",
		nil, "SRC="+src, "W=2")
	if err != nil {
		t.Fatal(err)
	}
	if localSrc(c.Source).Path != src || c.Stages.Decode.Workers != 2 || c.Stages.Decode.Queue != 3 || localOut(c.Sink).Path != src+"/out-2" {
		t.Fatalf("%+v", c)
	}
}

// A plain value that is exactly one reference is typed as YAML types a scalar;
// a quoted one, or one with text around it, is a string.
func TestInterpolationTypes(t *testing.T) {
	src := t.TempDir()
	c, err := load(t, "source: {path: "+src+"}\nsampling:\n  step: ${STEP}\n  end: ${END}\n  autorotate: ${ROT}\n",
		nil, "STEP= 5", "ROT=false", "END=")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sampling.Step != 5 || c.Sampling.End != nil || c.Sampling.Autorotate {
		t.Fatalf("%+v", c.Sampling)
	}
	_, err = load(t, "source: {path: "+src+"}\nsampling:\n  step: \"${STEP}\"\n  start: 1${STEP}\n", nil, "STEP=5")
	msg := problems(t, err)
	for _, want := range []string{`sampling.step: want an integer, got "5" (from ${STEP})`, `sampling.start: want an integer, got "15" (from ${STEP})`} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	// A value that would be a list or a section in YAML stays a string.
	_, err = load(t, "source: {path: "+src+"}\nsampling:\n  step: ${STEP}\n", nil, "STEP=[1, 2]")
	if msg := problems(t, err); !strings.Contains(msg, `sampling.step: want an integer, got "[1, 2]" (from ${STEP})`) {
		t.Error(msg)
	}
}

func TestInterpolationErrors(t *testing.T) {
	src := t.TempDir()
	_, err := load(t, "source: {path: "+src+"}\nsampling:\n  step: ${STEP:-5}\n", nil)
	if msg := problems(t, err); !strings.Contains(msg, "sampling.step: ${STEP:-5} is the shell's form; vpipe's default follows one colon: write ${STEP:5}") {
		t.Error(msg)
	}
	_, err = load(t, "source: {path: "+src+"}\nsink:\n  path: ${OUT/x\n", nil, "OUT=o")
	if msg := problems(t, err); !strings.Contains(msg, `sink.path: "${OUT/x": ${ without its }`) {
		t.Error(msg)
	}
	_, err = load(t, "source: {path: "+src+"}\nsink:\n  ${K}: out\n", nil, "K=path")
	if msg := problems(t, err); !strings.Contains(msg, "sink.${K}: a key is not interpolated, only values are") {
		t.Error(msg)
	}
	// An unset variable is an error, unless --set or VPIPE_* gives the key.
	text := "source: {path: " + src + "}\nsink:\n  path: ${OUT}\n"
	_, err = load(t, text, nil)
	if msg := problems(t, err); !strings.Contains(msg, "sink.path: ${OUT} is not set and has no default") {
		t.Error(msg)
	}
	c, err := load(t, text, []string{"sink.path=o1"})
	if err != nil || localOut(c.Sink).Path != "o1" {
		t.Errorf("--set: %v %+v", err, c)
	}
	c, err = load(t, text, nil, "VPIPE_SINK_PATH=o2")
	if err != nil || localOut(c.Sink).Path != "o2" {
		t.Errorf("VPIPE_SINK_PATH: %v %+v", err, c)
	}
}

// Item 16: every problem in one list, each once, in one form.
func TestValidateReport(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-videos")
	text := "source:\n  path: " + missing + "\nsampling:\n  resize: 300\nsamplng:\n  step: 2\nsink: {pth: out}\n"
	_, err := load(t, text, []string{"sampling=3", "stages.decode=2"},
		"VPIPE_SAMPLING_STPE=2", "VPIPE_STAGES_ENCODE_COMPRESSION=zero", "VPIPE_SAMPLING_STEP=0")
	var ps *config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want *config.Problems, got %v", err)
	}
	var got []string
	for _, p := range ps.List {
		got = append(got, p.String())
	}
	want := []string{
		"source.path: " + strconv.Quote(missing) + " does not exist",
		"sampling: --set names a section, not a key: write --set sampling.KEY=3, KEY one of start, end, step, only_annotated, resize.height, resize.width, resize.filter, copy_annotations, autorotate, fps, max_fps, frames, times, frames_file, keyframes_only, scene_threshold, dedup.distance, on_damage",
		"sampling.step: must be >= 1, got 0 (from VPIPE_SAMPLING_STEP)",
		"sampling.resize: want a section (height: …, width: …, filter: …), got 300",
		"sink.pth: unknown key (did you mean sink.path?)",
		"stages.decode: --set names a section, not a key: write --set stages.decode.KEY=2, KEY one of workers, queue, threads",
		`stages.encode.compression: want an integer, got "zero" (from VPIPE_STAGES_ENCODE_COMPRESSION)`,
		"samplng: unknown section (did you mean sampling?)",
		"environment variable VPIPE_SAMPLING_STPE sets no key (did you mean VPIPE_SAMPLING_STEP?)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSectionNamedByVariable(t *testing.T) {
	_, err := load(t, "source: {path: "+t.TempDir()+"}\n", nil, "VPIPE_SAMPLING=3")
	if msg := problems(t, err); !strings.Contains(msg, "environment variable VPIPE_SAMPLING names the section sampling, not a key: set VPIPE_SAMPLING_KEY, KEY one of START, END, STEP, ONLY_ANNOTATED, RESIZE_HEIGHT") {
		t.Error(msg)
	}
	// unless the file uses it for its own purpose
	c, err := load(t, "source: {path: ${VPIPE_SOURCE}}\n", nil, "VPIPE_SOURCE="+t.TempDir())
	if err != nil || localSrc(c.Source).Path == "" {
		t.Errorf("%v %+v", err, c)
	}
}

func TestResizeBound(t *testing.T) {
	src := t.TempDir()
	_, err := load(t, "source: {path: "+src+"}\nsampling: {resize: {width: 16385}}\n", []string{"sampling.resize.height=100000"})
	msg := problems(t, err)
	for _, want := range []string{"sampling.resize.width: must be 0–16384, got 16385", "sampling.resize.height: must be 0–16384, got 100000 (from --set)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if _, err := load(t, "source: {path: "+src+"}\nsampling: {resize: {width: 16384}}\n", nil); err != nil {
		t.Error(err)
	}
	c := &config.Config{}
	c.Sampling.Resize.Width = 20000
	if err := config.Check(c); err == nil || !strings.Contains(err.Error(), "sampling.resize.width: must be 0–16384, got 20000") {
		t.Errorf("Check: %v", err)
	}
}
