package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/vpipe/vpipe/media"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key string // key path, e.g. sampling.step; "" when not about one key
	Msg string
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// Problems is every problem found; it is an error.
type Problems struct {
	File string
	List []Problem
}

func (ps *Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", ps.File, len(ps.List))
	for _, p := range ps.List {
		b.WriteString("\n  - " + p.String())
	}
	return b.String()
}

func (ps *Problems) add(key, format string, a ...any) {
	ps.List = append(ps.List, Problem{Key: key, Msg: fmt.Sprintf(format, a...)})
}

// EnvPrefix starts every environment override: VPIPE_SINK_PATH sets sink.path.
const EnvPrefix = "VPIPE_"

// EnvName is the environment variable that overrides a key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads, merges and checks a configuration. sets are key.path=value
// overrides; env is the environment (os.Environ() form). A *Problems error lists
// everything wrong.
func Load(path string, sets []string, env []string) (*Config, error) {
	ps := &Problems{File: path}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	text := interpolate(string(raw), envMap, ps)

	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		ps.add("", "not valid YAML: %v", err)
		return nil, ps
	}
	schema := leaves(reflect.TypeOf(Config{}), "")
	checkTree(doc, "", schema, ps)

	v := viper.New()
	v.SetConfigType("yaml")
	for k, d := range Defaults() {
		v.SetDefault(k, d)
	}
	if err := v.ReadConfig(bytes.NewReader([]byte(text))); err != nil {
		ps.add("", "cannot read: %v", err)
		return nil, ps
	}
	known := map[string]bool{}
	for k := range schema {
		known[EnvName(k)] = true
	}
	for k, val := range envMap {
		if strings.HasPrefix(k, EnvPrefix) && !known[k] {
			if looksLikeKey(k, schema) {
				ps.add("", "environment variable %s sets no key%s", k, suggest(strings.ToLower(strings.TrimPrefix(k, EnvPrefix)), envKeys(schema)))
			}
			continue
		}
		if known[k] {
			key := keyOfEnv(k, schema)
			if x := parseScalar(val); checkValue(key, x, schema[key], ps) {
				v.Set(key, x)
			}
		}
	}
	for _, s := range sets {
		k, val, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			ps.add("", "--set %q: want key.path=value", s)
			continue
		}
		kind, ok := schema[k]
		if !ok {
			ps.add(k, "unknown key (in --set)%s", suggest(k, keys(schema)))
			continue
		}
		x := parseScalar(val)
		if checkValue(k, x, kind, ps) {
			v.Set(k, x)
		}
	}
	// Values of the wrong type were reported; put defaults in their place so the
	// range checks still run and the list is complete.
	defaults := Defaults()
	for _, p := range ps.List {
		if _, ok := schema[p.Key]; ok {
			v.Set(p.Key, defaults[p.Key])
		}
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		ps.add("", "%v", err)
		return nil, ps
	}
	reported := map[string]bool{}
	for _, p := range ps.List {
		reported[p.Key] = true
	}
	var rs Problems
	c.check(&rs)
	for _, p := range rs.List {
		if !reported[p.Key] {
			ps.List = append(ps.List, p)
		}
	}
	if len(ps.List) > 0 {
		return nil, ps
	}
	return &c, nil
}

// Check reports the range problems of a config built in code.
func Check(c *Config) error {
	ps := &Problems{File: "options"}
	c.check(ps)
	if len(ps.List) > 0 {
		return ps
	}
	return nil
}

var varRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// interpolate replaces ${VAR} and ${VAR:default}; an unset variable without a
// default is a problem naming the line. Comments are left alone.
func interpolate(text string, env map[string]string, ps *Problems) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		code, comment := line, ""
		if j := strings.Index(line, " #"); j >= 0 {
			code, comment = line[:j], line[j:]
		} else if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		lines[i] = varRe.ReplaceAllStringFunc(code, func(m string) string {
			sub := varRe.FindStringSubmatch(m)
			if v, ok := env[sub[1]]; ok {
				return v
			}
			if strings.Contains(m, ":") {
				return sub[2]
			}
			ps.add("", "line %d: ${%s} is not set and has no default (write ${%s:default})", i+1, sub[1], sub[1])
			return ""
		}) + comment
	}
	return strings.Join(lines, "\n")
}

type kind int

const (
	kString kind = iota
	kInt
	kOptInt
	kBool
	kIntList
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "an integer or null", "true or false", "a list of integers"}[k]
}

// leaves maps every key path of the struct to its kind.
func leaves(t reflect.Type, prefix string) map[string]kind {
	out := map[string]kind{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := prefix + f.Tag.Get("mapstructure")
		switch f.Type.Kind() {
		case reflect.Struct:
			for k, v := range leaves(f.Type, name+".") {
				out[k] = v
			}
		case reflect.String:
			out[name] = kString
		case reflect.Int:
			out[name] = kInt
		case reflect.Bool:
			out[name] = kBool
		case reflect.Pointer:
			out[name] = kOptInt
		case reflect.Slice:
			out[name] = kIntList
		}
	}
	return out
}

// checkTree walks the parsed YAML and reports unknown keys and wrong types.
func checkTree(m map[string]any, prefix string, schema map[string]kind, ps *Problems) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		path := prefix + k
		val := m[k]
		if kind, ok := schema[path]; ok {
			checkValue(path, val, kind, ps)
			continue
		}
		if isSection(path, schema) {
			if sub, ok := val.(map[string]any); ok {
				checkTree(sub, path+".", schema, ps)
			} else if val != nil {
				ps.add(path, "want a section (key: value lines), got %v", describe(val))
			}
			continue
		}
		ps.add(path, "unknown key%s", suggest(path, keys(schema)))
	}
}

func checkValue(path string, val any, k kind, ps *Problems) bool {
	ok := false
	switch k {
	case kString:
		_, ok = val.(string)
	case kInt:
		_, ok = val.(int)
	case kOptInt:
		_, isInt := val.(int)
		ok = isInt || val == nil
	case kBool:
		_, ok = val.(bool)
	case kIntList:
		var list []any
		list, ok = val.([]any)
		for _, x := range list {
			if _, isInt := x.(int); !isInt {
				ok = false
			}
		}
		ok = ok || val == nil
	}
	if !ok {
		ps.add(path, "want %s, got %s", k, describe(val))
	}
	return ok
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a section"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

func parseScalar(s string) any {
	var x any
	if err := yaml.Unmarshal([]byte(s), &x); err != nil {
		return s
	}
	if _, isMap := x.(map[string]any); isMap {
		return s
	}
	return x
}

func isSection(path string, schema map[string]kind) bool {
	for k := range schema {
		if strings.HasPrefix(k, path+".") {
			return true
		}
	}
	return false
}

func keys(schema map[string]kind) []string {
	out := make([]string, 0, len(schema))
	for k := range schema {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func envKeys(schema map[string]kind) []string {
	out := keys(schema)
	for i, k := range out {
		out[i] = strings.ReplaceAll(k, ".", "_")
	}
	return out
}

// looksLikeKey tells whether an unknown VPIPE_* variable was meant to override a
// key (a misspelling): it starts with a section (VPIPE_SINK_...) or is within two
// edits of a key's variable. Others (VPIPE_VIDEOS used in ${...}, VPIPE_CPUPROFILE)
// are left for their own uses.
func looksLikeKey(env string, schema map[string]kind) bool {
	for k := range schema {
		section := EnvPrefix + strings.ToUpper(strings.SplitN(k, ".", 2)[0]) + "_"
		if strings.HasPrefix(env, section) || distance(env, EnvName(k)) <= 2 {
			return true
		}
	}
	return false
}

func keyOfEnv(env string, schema map[string]kind) string {
	for k := range schema {
		if EnvName(k) == env {
			return k
		}
	}
	return ""
}

// suggest names the closest known key, when one is close.
func suggest(key string, known []string) string {
	best, bd := "", 4
	for _, k := range known {
		if d := distance(key, k); d < bd {
			best, bd = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

// check reports values out of range.
func (c *Config) check(ps *Problems) {
	switch c.Source.Type {
	case "local":
		if c.Source.Path == "" {
			ps.add("source.path", "required for a local source")
		}
	case "supervisely":
		if c.Source.ProjectID <= 0 {
			ps.add("source.project_id", "required for a supervisely source (the video project's id)")
		}
		if c.Source.Download != "stream" && c.Source.Download != "file" {
			ps.add("source.download", "want stream or file, got %q", c.Source.Download)
		}
	default:
		ps.add("source.type", "unknown source type %q (available: local, supervisely)", c.Source.Type)
	}
	for i, id := range c.Source.DatasetIDs {
		if id <= 0 {
			ps.add("source.dataset_ids", "item %d: a dataset id must be > 0, got %d", i, id)
		}
	}
	switch c.Sink.Type {
	case "local":
		if c.Sink.Path == "" {
			ps.add("sink.path", "required for a local sink")
		}
	case "supervisely":
		if c.Sink.ProjectID < 0 || c.Sink.WorkspaceID < 0 {
			ps.add("sink.project_id", "ids must be > 0")
		}
		if c.Source.Type != "supervisely" && c.Sink.ProjectID == 0 && c.Sink.WorkspaceID == 0 {
			ps.add("sink.workspace_id", "required for a supervisely sink fed by a %s source (or set sink.project_id)", c.Source.Type)
		}
	default:
		ps.add("sink.type", "unknown sink type %q (available: local, supervisely)", c.Sink.Type)
	}
	remote := c.Sink.Type == "supervisely" || c.Source.Type == "supervisely"
	if n := c.Stages.Batch.BatchSize; c.Sink.Type == "supervisely" && (n < 1 || n > 50) {
		ps.add("stages.batch.batch_size", "must be 1–50 (the server takes at most 50 images a call), got %d", n)
	}
	if remote && c.Supervisely.Retries < 0 || c.Supervisely.RetrySleepMs < 0 || remote && (c.Supervisely.TimeoutS < 1 || c.Supervisely.ReadTimeoutS < 1) {
		ps.add("supervisely", "retries and retry_sleep_ms must be >= 0, timeout_s and read_timeout_s >= 1")
	}
	s := c.Sampling
	if s.Start < 0 {
		ps.add("sampling.start", "must be >= 0, got %d", s.Start)
	}
	if s.End != nil && *s.End <= s.Start {
		ps.add("sampling.end", "must be greater than sampling.start (%d), got %d", s.Start, *s.End)
	}
	if s.Step < 1 {
		ps.add("sampling.step", "must be >= 1, got %d", s.Step)
	}
	if s.Resize.Height < 0 {
		ps.add("sampling.resize.height", "must be >= 0, got %d", s.Resize.Height)
	}
	if s.Resize.Width < 0 {
		ps.add("sampling.resize.width", "must be >= 0, got %d", s.Resize.Width)
	}
	if _, err := media.NewConverter(s.Resize.Filter); err != nil {
		ps.add("sampling.resize.filter", "unknown filter %q (available: %s)", s.Resize.Filter, strings.Join(media.ScaleFilters(), ", "))
	}
	pools := []struct {
		name     string
		workers  int
		queue    int
		maxQueue int
	}{
		{"stages.decode", c.Stages.Decode.Workers, c.Stages.Decode.Queue, 4096},
		{"stages.resize", c.Stages.Resize.Workers, c.Stages.Resize.Queue, 4096},
		{"stages.encode", c.Stages.Encode.Workers, c.Stages.Encode.Queue, 4096},
		{"stages.write", c.Stages.Write.Workers, c.Stages.Write.Queue, 4096},
	}
	if c.Sink.Type == "supervisely" {
		pools = append(pools, []struct {
			name     string
			workers  int
			queue    int
			maxQueue int
		}{{"stages.batch", 1, c.Stages.Batch.Queue, 4096},
			{"stages.upload", c.Stages.Upload.Workers, c.Stages.Upload.Queue, 4096},
			{"stages.annotate", c.Stages.Annotate.Workers, c.Stages.Annotate.Queue, 4096}}...)
	}
	for _, p := range pools {
		if p.workers < 1 || p.workers > 256 {
			ps.add(p.name+".workers", "must be 1–256, got %d", p.workers)
		}
		if p.queue < 0 || p.queue > p.maxQueue {
			ps.add(p.name+".queue", "must be 0–%d, got %d", p.maxQueue, p.queue)
		}
	}
	if t := c.Stages.Decode.Threads; t < 0 || t > 64 {
		ps.add("stages.decode.threads", "must be 0 (auto) – 64, got %d", t)
	}
	if l := c.Stages.Encode.Compression; l < 0 || l > 9 {
		ps.add("stages.encode.compression", "must be 0–9, got %d", l)
	}
}
