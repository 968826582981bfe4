package config_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

const fanOut = `
source: {type: local, path: VIDEOS}
sinks:
  - {type: local, path: a}
  - {type: s3, url: "s3://b/p", endpoint: "http://127.0.0.1:7070"}
`

// Issue 17: a key of one sink of the fan-out list can be set from the command
// line (sinks[1].path, sinks.1.path) and the environment (VPIPE_SINKS_1_PATH),
// as every other key; the value is checked as sink.KEY's would be.
func TestSinksKeysOverridden(t *testing.T) {
	p := write(t, strings.Replace(fanOut, "VIDEOS", t.TempDir(), 1))
	c, err := config.Load(p, []string{"sinks[0].path=b", "sinks.1.max_attempts=3"}, []string{"VPIPE_SINKS_1_URL=s3://c/q"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sinks) != 2 || localOut(c.Sinks[0]).Path != "b" || s3(c.Sinks[1]).URL != "s3://c/q" || s3(c.Sinks[1]).MaxAttempts != 3 {
		t.Fatalf("sinks = %+v", c.Sinks)
	}
	// --set wins over the environment, as for every key.
	c, err = config.Load(p, []string{"sinks[0].path=set"}, []string{"VPIPE_SINKS_0_PATH=env"})
	if err != nil || localOut(c.Sinks[0]).Path != "set" {
		t.Fatalf("sinks[0].path = %+v, %v; want the --set value", c, err)
	}
}

func TestSinksKeysProblemsNamed(t *testing.T) {
	p := write(t, strings.Replace(fanOut, "VIDEOS", t.TempDir(), 1))
	err := problems(t, mustFail(config.Load(p, []string{"sinks[0].pth=x", "sinks[2].path=x", "sinks[1].max_attempts=many"},
		[]string{"VPIPE_SINKS_0_PTH=x"})))
	for _, want := range []string{
		"sinks[0].pth: unknown key of a sink (from --set) (did you mean path?)",
		"sinks[2].path: (from --set) names no sink: the config lists 2 under sinks: (sinks[0] to sinks[1])",
		"sinks[1].max_attempts",
		"VPIPE_SINKS_0_PTH sets no key of a sink",
	} {
		if !strings.Contains(err, want) {
			t.Errorf("problems lack %q:\n%s", want, err)
		}
	}
}

// A sinks[i] key given by --set or the environment may hold an unset ${VAR}
// in the file, as a sink.KEY override may: the override gives the value.
func TestSinksOverrideCoversPlaceholder(t *testing.T) {
	src := t.TempDir()
	text := "source: {path: " + src + "}\nsinks:\n  - {type: s3, url: \"${OUT}\"}\n  - {path: \"${N}\"}\n"
	c, err := load(t, text, []string{"sinks[0].url=s3://b/p"}, "VPIPE_SINKS_1_PATH=there")
	if err != nil {
		t.Fatal(err)
	}
	if s3(c.Sinks[0]).URL != "s3://b/p" || localOut(c.Sinks[1]).Path != "there" {
		t.Fatalf("sinks = %+v", c.Sinks)
	}
	// Without the override, an unset ${N} under sinks[1] is one problem, not
	// also a null value of the wrong kind.
	msg := problems(t, mustFail(load(t, text, []string{"sinks[0].url=s3://b/p"})))
	if n := strings.Count(msg, "sinks[1].path"); n != 1 || !strings.Contains(msg, "${N} is not set") {
		t.Errorf("sinks[1].path reported %d times, want once as unset:\n%s", n, msg)
	}
}

// A sinks[i] override on a file without a sinks: list says so; a misspelt
// VPIPE_SINKS_i_ variable is matched with the SINKS_i form.
func TestSinksOverrideMessages(t *testing.T) {
	src := t.TempDir()
	msg := problems(t, mustFail(load(t, "source: {path: "+src+"}\nsink: {path: out}\n", []string{"sinks[0].path=x"},
		"VPIPE_SINKS_0_MAX_ATEMPTS=3")))
	for _, want := range []string{
		"sinks[0].path: (from --set) names no sink: the config has no sinks: list (its sink: is set as sink.path)",
		"VPIPE_SINKS_0_MAX_ATEMPTS sets no key of a sink (did you mean VPIPE_SINKS_0_MAX_ATTEMPTS?)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "sinks[-1]") {
		t.Errorf("an index of an empty list:\n%s", msg)
	}
}
