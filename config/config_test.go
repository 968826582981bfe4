package config_test

import (
	"errors"
	"os"
	"path/filepath"
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
	p := write(t, "source:\n  path: ${VIDEOS:testdata/videos}\nsampling:\n  step: 2\n")
	c, err := config.Load(p, []string{"sampling.end=40", "sink.path=elsewhere"}, []string{"VPIPE_SAMPLING_START=3"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Path != "testdata/videos" || c.Sampling.Step != 2 || c.Sampling.Start != 3 ||
		c.Sampling.End == nil || *c.Sampling.End != 40 || c.Sink.Path != "elsewhere" || !c.Sampling.Autorotate {
		t.Fatalf("%+v", c)
	}
	c, err = config.Load(p, nil, []string{"VIDEOS=/data/v"})
	if err != nil || c.Source.Path != "/data/v" || c.Sampling.End != nil {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestEveryProblemNamed(t *testing.T) {
	p := write(t, `source:
  path: x
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
		"VPIPE_SINK_PAHT sets no key (did you mean sink_path?)",
		// range problems are listed alongside the type problems
		"sampling.start: must be >= 0", `sampling.resize.filter: unknown filter "cubic"`, "stages.encode.compression: must be 0–9",
	} {
		if !strings.Contains(err, want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
	// range problems are reported once the types are right
	p = write(t, "source: {path: x}\nsampling: {start: -1, step: 0, resize: {height: -5, filter: cubic}}\nstages: {encode: {compression: 12}, write: {workers: 0}}\n")
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
	p := write(t, "source:\n  path: ${VPIPE_VIDEOS:x}\n")
	c, err := config.Load(p, nil, []string{"VPIPE_VIDEOS=/v", "VPIPE_TEST_CACHE=/tmp/c", "VPIPE_CPUPROFILE=/tmp/p"})
	if err != nil || c.Source.Path != "/v" {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = config.Load(p, nil, []string{"VPIPE_SAMPLING_STPE=2"})
	if err == nil || !strings.Contains(err.Error(), "VPIPE_SAMPLING_STPE sets no key (did you mean sampling_step?)") {
		t.Fatalf("%v", err)
	}
	_, err = config.Load(p, nil, []string{"VPIPE_SINKPATH=2"})
	if err == nil {
		t.Fatal("a near miss of VPIPE_SINK_PATH is not reported")
	}
}

func mustFail(_ *config.Config, err error) error { return err }
