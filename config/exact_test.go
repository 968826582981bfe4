package config_test

import (
	"strings"
	"testing"

	"github.com/vpipe/vpipe/config"
)

// sink.fsync is a local sink's: accepted there, refused (naming the key path,
// the type that has it and this type's keys: issue 17 checks every key
// against the chosen type) on a sink that writes no files, in sink and in
// sinks: alike.
func TestFsyncKey(t *testing.T) {
	src := t.TempDir()
	c, err := load(t, "source: {path: "+src+"}\nsink: {path: out, fsync: true}\n", nil)
	if err != nil || !localOut(c.Sink).Fsync {
		t.Fatalf("%v %+v", err, c)
	}
	if c, err := load(t, "source: {path: "+src+"}\n", nil); err != nil || localOut(c.Sink).Fsync {
		t.Fatalf("default: %v %+v", err, c)
	}
	if c, err := load(t, "source: {path: "+src+"}\n", nil, "VPIPE_SINK_FSYNC=true"); err != nil || !localOut(c.Sink).Fsync {
		t.Fatalf("env: %v %+v", err, c)
	}
	_, err = load(t, "source: {path: "+src+"}\nsink: {type: s3, url: s3://b/p, fsync: true}\n", nil)
	if msg := problems(t, err); !strings.Contains(msg, "sink.fsync: a key of sink type local only (this sink's type is s3, whose keys are type, url, endpoint") {
		t.Errorf("s3 sink: %s", msg)
	}
	_, err = load(t, "source: {path: "+src+"}\nsinks:\n  - {path: a, fsync: true}\n  - {type: s3, url: s3://b/p, fsync: true}\n", nil)
	msg := problems(t, err)
	if !strings.Contains(msg, "sinks[1].fsync: a key of sink type local only") || strings.Contains(msg, "sinks[0]") {
		t.Errorf("sinks: %s", msg)
	}
	_, err = load(t, "source: {path: "+src+"}\nsink: {fsync: maybe}\n", nil)
	if msg := problems(t, err); !strings.Contains(msg, "sink.fsync") {
		t.Errorf("type: %s", msg)
	}
}

// sampling.on_damage takes fail (the default) or salvage.
func TestOnDamageKey(t *testing.T) {
	src := t.TempDir()
	if c, err := load(t, "source: {path: "+src+"}\n", nil); err != nil || c.Sampling.OnDamage != "fail" {
		t.Fatalf("default: %v %+v", err, c)
	}
	if c, err := load(t, "source: {path: "+src+"}\nsampling: {on_damage: salvage}\n", nil); err != nil || c.Sampling.OnDamage != "salvage" {
		t.Fatalf("salvage: %v %+v", err, c)
	}
	_, err := load(t, "source: {path: "+src+"}\n", []string{"sampling.on_damage=skip"})
	if msg := problems(t, err); !strings.Contains(msg, `sampling.on_damage: unknown on_damage value "skip" (available: fail, salvage) (from --set)`) {
		t.Errorf("%s", msg)
	}
	c := &config.Config{}
	c.Sampling.OnDamage = "x"
	if err := config.Check(c); err == nil || !strings.Contains(err.Error(), `sampling.on_damage: unknown on_damage value "x"`) {
		t.Errorf("Check: %v", err)
	}
}
