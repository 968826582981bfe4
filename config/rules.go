package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/media/mediaopt"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/split"
)

// MaxSide is the largest output side accepted, in pixels (an RGB frame of
// 16384×16384 is already 768 MiB).
const MaxSide = 16384

// Validation is table-driven: the key paths and their types come from the
// Config struct and the registered backends' config structs (their
// mapstructure tags), so a new field is known, typed and overridable by
// VPIPE_* and --set at once. What a common value may be is a row of rules;
// what a source or sink type needs is its spec's (required keys, Check).

// A rule checks every key that matches Key ("*" matches one segment). Check
// returns what is wrong, or "".
type rule struct {
	Key   string
	Check func(v reflect.Value, c *Config) string
}

var rules = []rule{
	{"sampling.start", between(0, -1)},
	{"sampling.end", func(v reflect.Value, c *Config) string {
		if v.IsNil() || v.Elem().Int() > int64(c.Sampling.Start) {
			return ""
		}
		return fmt.Sprintf("must be greater than sampling.start (%d), got %d", c.Sampling.Start, v.Elem().Int())
	}},
	{"sampling.step", between(1, -1)},
	{"sampling.resize.height", between(0, MaxSide)},
	{"sampling.resize.width", between(0, MaxSide)},
	{"sampling.resize.filter", oneOf("filter", mediaopt.ScaleFilters)},
	{"sampling.on_damage", oneOf("on_damage value", func() []string { return []string{"fail", "salvage"} })},
	{"stages.*.workers", between(1, 256)},
	{"stages.*.queue", between(0, 4096)},
	{"stages.decode.threads", between(0, 64)},
	{"stages.encode.compression", between(0, 9)},
	{"stages.encode.format", oneOf("image format", mediaopt.Formats)},
	{"stages.encode.quality", func(v reflect.Value, c *Config) string {
		q, e := v.Int(), c.Stages.Encode
		switch {
		case q == 0: // the format's default
			return ""
		case e.Format == mediaopt.FormatPNG:
			return fmt.Sprintf("only for jpeg and webp (stages.encode.format is png, whose size is set by stages.encode.compression), got %d", q)
		case e.Format == mediaopt.FormatWebP && e.Lossless:
			return fmt.Sprintf("not for lossless webp (stages.encode.lossless is true), got %d", q)
		}
		return between(1, 100)(v, c)
	}},
	{"stages.encode.lossless", func(v reflect.Value, c *Config) string {
		if v.Bool() && c.Stages.Encode.Format != mediaopt.FormatWebP {
			return fmt.Sprintf("only for webp (stages.encode.format is %q), got true", c.Stages.Encode.Format)
		}
		return ""
	}},
	{"stages.batch.batch_size", func(v reflect.Value, c *Config) string {
		for _, sec := range registry.Sections() {
			if sec.MaxBatch <= 0 || !c.uses(sec.Name) {
				continue
			}
			if msg := between(1, sec.MaxBatch)(v, c); msg != "" {
				return fmt.Sprintf("%s (the server takes at most %d images a call)", msg, sec.MaxBatch)
			}
		}
		return ""
	}},
}

// specs are the specs of the configured source and sinks (those of a known type).
func (c *Config) specs() []registry.Spec {
	var out []registry.Spec
	if s, ok := registry.Lookup(registry.Source, c.Source.Type); ok {
		out = append(out, s)
	}
	for _, b := range c.SinkList() {
		if s, ok := registry.Lookup(registry.Sink, b.Type); ok {
			out = append(out, s)
		}
	}
	return out
}

// uses tells whether the source or a sink reads the shared section name.
func (c *Config) uses(name string) bool {
	return slices.ContainsFunc(c.specs(), func(s registry.Spec) bool { return slices.Contains(s.Uses, name) })
}

// checkBackend checks a source or sink (prefix names its section: "source",
// "sinks[1]") as its spec says: its type is registered, its required keys are
// given, and its own Check.
func (c *Config) checkBackend(ps *Problems, prefix string, role registry.Kind, b Backend, onDisk bool) {
	spec, ok := registry.Lookup(role, b.Type)
	if !ok {
		ps.add(prefix+".type", "unknown %s type %q (available: %s)", role, b.Type, strings.Join(registry.Names(role), ", "))
		return
	}
	conf := b.Conf
	if conf == nil {
		conf = spec.Config(role)
	}
	for _, k := range registry.Missing(conf) {
		ps.add(prefix+"."+k, "required for a %s of type %s", role, b.Type)
	}
	if b.Output != nil {
		c.checkOutput(ps, prefix, b.Output)
	}
	if spec.Check == nil {
		return
	}
	env := registry.CheckEnv{Role: role, SourceType: c.Source.Type, Section: c.Section, Prefix: prefix, OnDisk: onDisk}
	for _, p := range spec.Check(conf, env) {
		ps.add(keyIn(prefix, p.Key), "%s", p.Msg)
	}
}

// checkOutput checks what a store sink writes (prefix: "sink", "sinks[1]"):
// its format is a registered layout, its splits are names with fractions
// summing to 1, and the layout's own check passes.
func (c *Config) checkOutput(ps *Problems, prefix string, o *registry.Output) {
	if _, err := split.New(o.Split); err != nil {
		ps.add(prefix+".split", "%v", err)
	}
	spec, ok := registry.Lookup(registry.Layout, o.Format)
	if !ok {
		names := registry.Names(registry.Layout)
		ps.add(prefix+".format", "unknown format %q (available: %s)%s", o.Format, strings.Join(names, ", "), suggest(o.Format, names))
		return
	}
	for _, name := range slices.Sorted(maps.Keys(o.Split)) {
		if err := spec.CheckSplitNames(map[string]float64{name: 1}); err != nil {
			ps.add(prefix+".split", "%v", err)
		}
	}
	if spec.Check == nil {
		return
	}
	conf := o.Layout
	if conf == nil {
		conf = spec.Config(registry.Layout)
	}
	env := registry.CheckEnv{Role: registry.Layout, SourceType: c.Source.Type, Section: c.Section, Prefix: prefix + "." + o.Format}
	for _, p := range spec.Check(conf, env) {
		ps.add(keyIn(prefix+"."+o.Format, p.Key), "%s", p.Msg)
	}
}

// checkSections runs each shared section's check, telling it whether a
// configured backend uses it.
func (c *Config) checkSections(ps *Problems) {
	for _, sec := range registry.Sections() {
		if sec.Check == nil {
			continue
		}
		for _, p := range sec.Check(c.Section(sec.Name), c.uses(sec.Name)) {
			ps.add(keyIn(sec.Name, p.Key), "%s", p.Msg)
		}
	}
}

// keyIn is a key under a section ("" = the section itself).
func keyIn(section, key string) string {
	if key == "" {
		return section
	}
	return section + "." + key
}

// between accepts lo..hi; hi < 0 means no upper bound.
func between(lo, hi int) func(reflect.Value, *Config) string {
	return func(v reflect.Value, _ *Config) string {
		x := int(v.Int())
		switch {
		case hi < 0 && x < lo:
			return fmt.Sprintf("must be >= %d, got %d", lo, x)
		case hi >= 0 && (x < lo || x > hi):
			return fmt.Sprintf("must be %d–%d, got %d", lo, hi, x)
		}
		return ""
	}
}

func oneOf(noun string, allowed func() []string) func(reflect.Value, *Config) string {
	return func(v reflect.Value, _ *Config) string {
		names := allowed()
		if slices.Contains(names, v.String()) {
			return ""
		}
		return fmt.Sprintf("unknown %s %q (available: %s)", noun, v.String(), strings.Join(names, ", "))
	}
}

// field is the value of a key path in c.
func field(c *Config, key string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for _, name := range strings.Split(key, ".") {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("mapstructure") == name {
				v = v.Field(i)
				break
			}
		}
	}
	return v
}

func match(pattern, key string) bool {
	ps, ks := strings.Split(pattern, "."), strings.Split(key, ".")
	if len(ps) != len(ks) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != ks[i] {
			return false
		}
	}
	return true
}

// check reports values out of range and what the source's, sinks' and
// shared sections' specs find; onDisk also checks what they point at.
func (c *Config) check(ps *Problems, onDisk bool) {
	for _, k := range schema().keys {
		for _, r := range rules {
			if match(r.Key, k) {
				if msg := r.Check(field(c, k), c); msg != "" {
					ps.add(k, "%s", msg)
				}
			}
		}
	}
	c.checkBackend(ps, "source", registry.Source, c.Source, onDisk)
	if len(c.Sinks) == 0 {
		c.checkBackend(ps, "sink", registry.Sink, c.Sink, onDisk)
	}
	for i, s := range c.Sinks {
		c.checkBackend(ps, fmt.Sprintf("sinks[%d]", i), registry.Sink, s, onDisk)
	}
	c.checkSections(ps)
}
