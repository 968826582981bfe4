package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/vpipe/vpipe/internal/s3conn/endpoint"
	"github.com/vpipe/vpipe/media/mediaopt"
)

// MaxSide is the largest output side accepted, in pixels (an RGB frame of
// 16384×16384 is already 768 MiB).
const MaxSide = 16384

// Validation is table-driven: the key paths and their types come from the
// Config struct (its mapstructure tags), so a new field is known, typed and
// overridable by VPIPE_* and --set at once. What a value may be is a row of
// rules; what each source or sink type needs is a row of backends.

// A rule checks every key that matches Key ("*" matches one segment). Check
// returns what is wrong, or "".
type rule struct {
	Key   string
	Check func(v reflect.Value, c *Config) string
}

var rules = []rule{
	{"source.type", oneOf("source type", func() []string { return typeNames(sources) })},
	{"sink.type", oneOf("sink type", func() []string { return typeNames(sinks) })},
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
	{"source.url", s3URL(func(c *Config) string { return c.Source.Type })},
	{"sink.url", s3URL(func(c *Config) string { return c.Sink.Type })},
	{"source.max_attempts", forS3(func(c *Config) string { return c.Source.Type }, between(1, 100))},
	{"sink.max_attempts", forS3(func(c *Config) string { return c.Sink.Type }, between(1, 100))},
	{"source.timeout_s", forS3(func(c *Config) string { return c.Source.Type }, between(1, 3600))},
	{"sink.timeout_s", forS3(func(c *Config) string { return c.Sink.Type }, between(1, 3600))},
	{"source.endpoint", forS3(func(c *Config) string { return c.Source.Type }, checkEndpoint)},
	{"sink.endpoint", forS3(func(c *Config) string { return c.Sink.Type }, checkEndpoint)},
	{"source.download", func(v reflect.Value, c *Config) string {
		if c.Source.Type != "supervisely" {
			return ""
		}
		return oneOf("download", func() []string { return []string{"file", "stream"} })(v, c)
	}},
	{"source.dataset_ids", func(v reflect.Value, _ *Config) string {
		for i := 0; i < v.Len(); i++ {
			if v.Index(i).Int() <= 0 {
				return fmt.Sprintf("item %d: a dataset id must be > 0, got %d", i, v.Index(i).Int())
			}
		}
		return ""
	}},
	{"stages.batch.batch_size", func(v reflect.Value, c *Config) string {
		if !c.usesSupervisely() {
			return ""
		}
		if msg := between(1, 50)(v, c); msg != "" {
			return msg + " (the server takes at most 50 images a call)"
		}
		return ""
	}},
	{"sink.workspace_id", func(v reflect.Value, c *Config) string {
		if c.Sink.Type == "supervisely" && c.Source.Type != "supervisely" && c.Sink.ProjectID == 0 && v.Int() == 0 {
			return fmt.Sprintf("required for a supervisely sink fed by a %s source (or set sink.project_id)", c.Source.Type)
		}
		return between(0, -1)(v, c)
	}},
	{"sink.project_id", between(0, -1)},
	{"sink.fsync", func(v reflect.Value, c *Config) string { return fsyncRule(v.Bool(), c.Sink.Type) }},
	{"supervisely.retries", between(0, 100)},
	{"supervisely.retry_sleep_ms", between(0, 60000)},
	{"supervisely.timeout_s", func(v reflect.Value, c *Config) string {
		if !c.usesSupervisely() {
			return ""
		}
		return between(1, 3600)(v, c)
	}},
	{"supervisely.read_timeout_s", func(v reflect.Value, c *Config) string {
		if !c.usesSupervisely() {
			return ""
		}
		return between(1, 3600)(v, c)
	}},
}

// usesSupervisely tells whether the source or a sink is on a Supervisely server.
func (c *Config) usesSupervisely() bool {
	if c.Source.Type == "supervisely" {
		return true
	}
	for _, s := range c.SinkList() {
		if s.Type == "supervisely" {
			return true
		}
	}
	return false
}

// A backend is a source or sink type: the keys of its section it needs, and a
// check of what it points at (run by Load, not by Check).
type backend struct {
	Required []string
	OnDisk   func(c *Config) (key, problem string)
}

var sources = map[string]backend{
	"local": {Required: []string{"path"}, OnDisk: func(c *Config) (string, string) {
		return "source.path", exists(c.Source.Path)
	}},
	"s3":          {Required: []string{"url"}},
	"supervisely": {Required: []string{"project_id"}},
}

var sinks = map[string]backend{
	"local":       {Required: []string{"path"}},
	"s3":          {Required: []string{"url"}},
	"supervisely": {},
}

// s3URL wants s3://BUCKET[/PREFIX] when the section's type is s3. A URL with
// credentials in it is refused without being echoed.
func s3URL(typ func(*Config) string) func(reflect.Value, *Config) string {
	return func(v reflect.Value, c *Config) string {
		if typ(c) != "s3" {
			return ""
		}
		return checkS3URL(v.String())
	}
}

// forS3 applies check only when the section's type is s3.
func forS3(typ func(*Config) string, check func(reflect.Value, *Config) string) func(reflect.Value, *Config) string {
	return func(v reflect.Value, c *Config) string {
		if typ(c) != "s3" {
			return ""
		}
		return check(v, c)
	}
}

// checkEndpoint wants an http(s) URL without credentials (user:secret@), which
// would be printed with it; they are refused without being echoed.
func checkEndpoint(v reflect.Value, _ *Config) string { return endpoint.Problem(v.String()) }

func checkS3URL(u string) string {
	switch {
	case u == "":
		return "" // reported as required
	case strings.ContainsAny(u, "?#@"):
		return "want s3://BUCKET/PREFIX without credentials, query or fragment (credentials come from the AWS chain)"
	case !strings.HasPrefix(u, "s3://") || strings.TrimPrefix(u, "s3://") == "" || strings.HasPrefix(u, "s3:///"):
		return fmt.Sprintf("want s3://BUCKET/PREFIX, got %q", u)
	}
	return ""
}

// checkSinkList checks each element of sinks: [...] as the sink section is checked.
func (c *Config) checkSinkList(ps *Problems) {
	for i, s := range c.Sinks {
		key := fmt.Sprintf("sinks[%d]", i)
		t, ok := sinks[s.Type]
		if !ok {
			ps.add(key+".type", "unknown sink type %q (available: %s)", s.Type, strings.Join(typeNames(sinks), ", "))
			continue
		}
		v := reflect.ValueOf(s)
		for _, k := range t.Required {
			for j := 0; j < v.NumField(); j++ {
				if v.Type().Field(j).Tag.Get("mapstructure") == k && v.Field(j).IsZero() {
					ps.add(key+"."+k, "required for a %s sink", s.Type)
				}
			}
		}
		if s.Type == "s3" {
			if msg := checkS3URL(s.URL); msg != "" {
				ps.add(key+".url", "%s", msg)
			}
		}
		if msg := fsyncRule(s.Fsync, s.Type); msg != "" {
			ps.add(key+".fsync", "%s", msg)
		}
		if s.Type != "s3" {
			continue
		}
		if msg := between(1, 100)(reflect.ValueOf(s.MaxAttempts), c); msg != "" {
			ps.add(key+".max_attempts", "%s", msg)
		}
		if msg := between(1, 3600)(reflect.ValueOf(s.TimeoutS), c); msg != "" {
			ps.add(key+".timeout_s", "%s", msg)
		}
		if msg := endpoint.Problem(s.Endpoint); msg != "" {
			ps.add(key+".endpoint", "%s", msg)
		}
	}
}

// fsyncRule: only the local sink writes files it can sync.
func fsyncRule(on bool, typ string) string {
	if on && typ != "local" {
		return fmt.Sprintf("only a local sink writes files to sync (this sink's type is %s): remove it", typ)
	}
	return ""
}

func typeNames(m map[string]backend) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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

func exists(path string) string {
	if path == "" {
		return "" // reported as required
	}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return fmt.Sprintf("%q does not exist", path)
	} else if err != nil {
		return err.Error()
	}
	return ""
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

// check reports values out of range; onDisk also checks what the source and
// sink point at.
func (c *Config) check(ps *Problems, onDisk bool) {
	for _, k := range schema.keys {
		for _, r := range rules {
			if match(r.Key, k) {
				if msg := r.Check(field(c, k), c); msg != "" {
					ps.add(k, "%s", msg)
				}
			}
		}
	}
	for _, b := range []struct {
		section string
		types   map[string]backend
		typ     string
	}{{"source", sources, c.Source.Type}, {"sink", sinks, c.Sink.Type}} {
		if b.section == "sink" && len(c.Sinks) > 0 {
			c.checkSinkList(ps)
			continue
		}
		t, ok := b.types[b.typ]
		if !ok {
			continue // reported by the type's rule
		}
		for _, k := range t.Required {
			if field(c, b.section+"."+k).IsZero() {
				ps.add(b.section+"."+k, "required for a %s %s", b.typ, b.section)
			}
		}
		if onDisk && t.OnDisk != nil {
			if key, msg := t.OnDisk(c); msg != "" {
				ps.add(key, "%s", msg)
			}
		}
	}
}
