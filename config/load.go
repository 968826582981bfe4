package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key  string // key path, e.g. sampling.step; "" when not about one key
	Msg  string
	From string // where the value came from when not the file: "from VPIPE_SAMPLING_STEP", "from --set", "from ${STEP}"
}

func (p Problem) String() string {
	s := p.Msg
	if p.From != "" {
		s += " (" + p.From + ")"
	}
	if p.Key == "" {
		return s
	}
	return p.Key + ": " + s
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

// override is a value given by VPIPE_* or --set.
type override struct {
	key  string
	val  any
	from string
}

// Load reads, merges and checks a configuration. sets are key.path=value
// overrides; env is the environment (os.Environ() form). A *Problems error lists
// everything wrong, whatever the step that found it.
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
	in := &interpolation{env: envMap, given: map[string]bool{}, origins: map[string]string{}, ps: ps}
	text := in.protect(string(raw))

	// Overrides first: a key they give may hold an unset ${VAR} in the file.
	ovs, sinkOvs := envOverrides(envMap, in.names(), ps)
	setOvs, setSinkOvs := setOverrides(sets, ps)
	ovs, sinkOvs = append(ovs, setOvs...), append(sinkOvs, setSinkOvs...)
	for _, o := range ovs {
		in.given[o.key] = true
	}

	doc, ok := parse(text, in, ps)
	if !ok {
		return nil, ps.sorted()
	}
	applySinkOverrides(doc, sinkOvs, ps)
	checkTree(doc, "", in.origins, ps)

	v := viper.New()
	for k, d := range Defaults() {
		v.SetDefault(k, d)
	}
	if err := v.MergeConfigMap(doc); err != nil {
		ps.add("", "cannot read: %v", err)
		return nil, ps.sorted()
	}
	for _, o := range ovs {
		v.Set(o.key, o.val)
		in.origins[o.key] = o.from
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		ps.add("", "%v", err)
		return nil, ps.sorted()
	}
	c.Sinks = sinkList(doc, ps)
	// Range problems, each under the origin of the value that won; a key whose
	// type was wrong got its default and is not reported twice.
	reported := map[string]bool{}
	for _, p := range ps.List {
		reported[p.Key] = true
	}
	var rs Problems
	c.check(&rs, true)
	for _, p := range rs.List {
		if !reported[p.Key] {
			p.From = in.origins[p.Key]
			ps.List = append(ps.List, p)
		}
	}
	if len(ps.List) > 0 {
		return nil, ps.sorted()
	}
	return &c, nil
}

// Check reports the range problems of a config built in code.
func Check(c *Config) error {
	ps := &Problems{File: "options"}
	c.check(ps, false)
	if len(ps.List) > 0 {
		return ps
	}
	return nil
}

// sorted orders the list by key, in the Config's order (problems about no one
// key last), so each key's problems read together.
func (ps *Problems) sorted() *Problems {
	rank := func(k string) int {
		if k == "" {
			return len(schema.order) + 1
		}
		r := len(schema.order) // unknown keys, after the known ones
		for i, s := range schema.order {
			if k == s {
				return i
			}
			if strings.HasPrefix(k, s+".") {
				r = i // the innermost section holding an unknown key
			}
		}
		return r
	}
	sort.SliceStable(ps.List, func(i, j int) bool { return rank(ps.List[i].Key) < rank(ps.List[j].Key) })
	return ps
}

// parse reads the protected text into a map with the values interpolated.
func parse(text string, in *interpolation, ps *Problems) (map[string]any, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		ps.add("", "not valid YAML: %v", in.restore(err.Error()))
		return nil, false
	}
	doc := map[string]any{}
	if len(root.Content) == 0 {
		return doc, true // an empty file: every key has its default
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode {
		ps.add("", "want sections (source:, sampling:, sink:, stages:) at the top, got %s", nodeKind(top))
		return nil, false
	}
	in.fill(&root, "")
	if err := root.Decode(&doc); err != nil {
		ps.add("", "not valid YAML: %v", in.restore(err.Error()))
		return nil, false
	}
	for _, k := range in.dropped {
		deleteKey(doc, k)
	}
	return doc, true
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describe(n.Value)
	}
	return "something else"
}

func deleteKey(m map[string]any, path string) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		delete(m, head)
		return
	}
	if sub, ok := m[head].(map[string]any); ok {
		deleteKey(sub, rest)
	}
}

// envOverrides reads VPIPE_* variables, in name order. One that names a key
// overrides it; one that looks meant to (a misspelling, a section) is a problem,
// unless the file refers to it as ${VAR}: then it is the file's own.
func envOverrides(env map[string]string, referenced map[string]bool, ps *Problems) ([]override, []sinkOverride) {
	names := make([]string, 0, len(env))
	for k := range env {
		if strings.HasPrefix(k, EnvPrefix) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []override
	var sinks []sinkOverride
	for _, name := range names {
		if o, ok := sinkEnv(name, env[name], ps); ok {
			sinks = append(sinks, o)
			continue
		}
		if key, ok := schema.byEnv[name]; ok {
			o := override{key: key, val: typed(schema.kinds[key], env[name]), from: "from " + name}
			if checkValue(key, o.val, schema.kinds[key], o.from, ps) {
				out = append(out, o)
			}
			continue
		}
		if referenced[name] {
			continue
		}
		if sec, ok := schema.secByEnv[name]; ok {
			keys := schema.under(sec)
			short := make([]string, len(keys)) // relative to the section
			for i, k := range keys {
				short[i] = strings.TrimPrefix(EnvName(k), name+"_")
			}
			ps.add("", "environment variable %s names the section %s, not a key: set %s_KEY, KEY one of %s",
				name, sec, name, strings.Join(short, ", "))
			continue
		}
		if looksLikeKey(name) {
			ps.add("", "environment variable %s sets no key%s", name, suggest(name, schema.envNames()))
		}
	}
	return out, sinks
}

// setOverrides reads --set key.path=value, in order (a later one wins).
// typed is scalar, except that a list key takes a YAML flow list ([3, 4]).
func typed(k kind, s string) any {
	if k == kIntList || k == kTimeList {
		var list []any
		if err := yaml.Unmarshal([]byte(s), &list); err == nil {
			return list
		}
	}
	return scalar(s)
}

func setOverrides(sets []string, ps *Problems) ([]override, []sinkOverride) {
	var out []override
	var sinks []sinkOverride
	for _, s := range sets {
		k, val, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			ps.add("", "--set %q: want key.path=value", s)
			continue
		}
		if o, ok := sinkSet(k, val, ps); ok {
			sinks = append(sinks, o)
			continue
		}
		kind, ok := schema.kinds[k]
		if !ok {
			if schema.isSection(k) {
				keys := schema.under(k)
				short := make([]string, len(keys)) // relative to the section
				for i, sub := range keys {
					short[i] = strings.TrimPrefix(sub, k+".")
				}
				ps.add(k, "--set names a section, not a key: write --set %s.KEY=%s, KEY one of %s",
					k, val, strings.Join(short, ", "))
			} else {
				ps.add(k, "unknown key (in --set)%s", suggest(k, schema.paths()))
			}
			continue
		}
		o := override{key: k, val: typed(kind, val), from: "from --set"}
		if checkValue(k, o.val, kind, o.from, ps) {
			out = append(out, o)
		}
	}
	return out, sinks
}

type kind int

const (
	kString kind = iota
	kInt
	kOptInt
	kBool
	kIntList
	kFloat
	kTimeList
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "an integer or null", "true or false", "a list of integers", "a number",
		"a list of times (seconds or \"HH:MM:SS.mmm\")"}[k]
}

// keySchema is every key path of Config, in the struct's order, with its kind,
// and the sections (key paths with keys under them).
type keySchema struct {
	keys     []string // leaf keys
	order    []string // sections and keys, depth first
	kinds    map[string]kind
	sections map[string]bool
	byEnv    map[string]string // VPIPE_SAMPLING_STEP → sampling.step
	secByEnv map[string]string // VPIPE_SAMPLING → sampling
}

var schema = newSchema(reflect.TypeOf(Config{}))

func newSchema(t reflect.Type) *keySchema {
	s := &keySchema{kinds: map[string]kind{}, sections: map[string]bool{}, byEnv: map[string]string{}, secByEnv: map[string]string{}}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Tag.Get("mapstructure") == "-" {
				continue // read by hand (sinks)
			}
			name := prefix + f.Tag.Get("mapstructure")
			s.order = append(s.order, name)
			var k kind
			switch f.Type.Kind() {
			case reflect.Struct:
				s.sections[name] = true
				s.secByEnv[EnvName(name)] = name
				walk(f.Type, name+".")
				continue
			case reflect.String:
				k = kString
			case reflect.Int:
				k = kInt
			case reflect.Bool:
				k = kBool
			case reflect.Pointer:
				k = kOptInt
			case reflect.Float64:
				k = kFloat
			case reflect.Slice:
				k = kIntList
				if f.Type.Elem().Kind() == reflect.String {
					k = kTimeList
				}
			default:
				panic("config: no kind for " + name)
			}
			s.keys = append(s.keys, name)
			s.kinds[name] = k
			s.byEnv[EnvName(name)] = name
		}
	}
	walk(t, "")
	return s
}

func (s *keySchema) isSection(path string) bool { return s.sections[path] }

// under lists the keys inside a section.
func (s *keySchema) under(section string) []string {
	var out []string
	for _, k := range s.keys {
		if strings.HasPrefix(k, section+".") {
			out = append(out, k)
		}
	}
	return out
}

// paths are every key and section, the candidates for a misspelled name.
func (s *keySchema) paths() []string { return s.order }

func (s *keySchema) envNames() []string {
	out := make([]string, len(s.keys))
	for i, k := range s.keys {
		out[i] = EnvName(k)
	}
	return out
}

// checkTree walks the parsed YAML, reports unknown keys and wrong types, and
// removes what it reported, so the defaults stand in and the range checks
// still run.
func checkTree(m map[string]any, prefix string, origins map[string]string, ps *Problems) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		path := prefix + k
		val := m[k]
		if path == "sinks" {
			checkSinks(val, origins[path], ps)
			continue
		}
		if kind, ok := schema.kinds[path]; ok {
			if !checkValue(path, val, kind, origins[path], ps) {
				delete(m, k)
			}
			continue
		}
		if schema.isSection(path) {
			switch sub := val.(type) {
			case map[string]any:
				checkTree(sub, path+".", origins, ps)
			case nil: // an empty section
				delete(m, k)
			default:
				ps.add(path, "want a section (%s), got %s", sectionHint(path), describe(val))
				delete(m, k)
			}
			continue
		}
		delete(m, k)
		if slices.ContainsFunc(ps.List, func(p Problem) bool { return p.Key == path }) {
			continue // a ${VAR} in the key, reported
		}
		what := "key"
		if _, isMap := val.(map[string]any); isMap {
			what = "section"
		}
		ps.add(path, "unknown %s%s", what, suggest(path, schema.paths()))
	}
}

// sectionHint shows the form a section takes: "height: …, width: …".
func sectionHint(section string) string {
	var names []string
	for _, k := range schema.order {
		if rest, ok := strings.CutPrefix(k, section+"."); ok && !strings.Contains(rest, ".") {
			names = append(names, rest+": …")
		}
	}
	return strings.Join(names, ", ")
}

func checkValue(path string, val any, k kind, from string, ps *Problems) bool {
	ok := false
	bad := -1 // the first wrong item of a list
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
		for i, x := range list {
			if _, isInt := x.(int); !isInt && ok {
				ok, bad = false, i
			}
		}
		ok = ok || val == nil
	case kFloat:
		switch val.(type) {
		case int, float64:
			ok = true
		}
	case kTimeList:
		var list []any
		list, ok = val.([]any)
		for i, x := range list {
			switch x.(type) {
			case int, float64, string:
			default:
				if ok {
					ok, bad = false, i
				}
			}
		}
		ok = ok || val == nil
	}
	if !ok {
		msg := fmt.Sprintf("want %s, got %s", k, describe(val))
		if bad >= 0 {
			msg += fmt.Sprintf(" (item %d: %s)", bad, describe(val.([]any)[bad]))
		}
		ps.List = append(ps.List, Problem{Key: path, Msg: msg, From: from})
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
		// the items, flat (a list or section in it by its kind), the first 8
		parts := make([]string, 0, min(len(x), 9))
		for i, e := range x {
			if i == 8 {
				parts = append(parts, fmt.Sprintf("… %d more", len(x)-8))
				break
			}
			if _, nested := e.([]any); nested {
				parts = append(parts, "a list")
			} else {
				parts = append(parts, describe(e))
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%v", v)
}

// looksLikeKey tells whether an unknown VPIPE_* variable was meant to override a
// key (a misspelling): it starts with a section (VPIPE_SINK_...) or is within two
// edits of a key's variable. Others (VPIPE_VIDEOS used in ${...}, VPIPE_CPUPROFILE)
// are left for their own uses.
func looksLikeKey(env string) bool {
	for _, k := range schema.keys {
		section := EnvPrefix + strings.ToUpper(strings.SplitN(k, ".", 2)[0]) + "_"
		if strings.HasPrefix(env, section) || distance(env, EnvName(k)) <= 2 {
			return true
		}
	}
	return false
}

// suggest names the closest known name, when one is close.
func suggest(name string, known []string) string {
	best, bd := "", 4
	for _, k := range known {
		if d := distance(name, k); d < bd {
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

// AsProblems is err as a file's problem list: err itself when it is one, else a
// list of one (e.g. a source that cannot be built), so every problem a command
// reports has the same form.
func AsProblems(file string, err error) *Problems {
	var ps *Problems
	if errors.As(err, &ps) {
		return ps
	}
	return &Problems{File: file, List: []Problem{{Msg: err.Error()}}}
}

// checkSinks checks the fan-out list: each element takes the keys of sink.
func checkSinks(val any, from string, ps *Problems) {
	list, ok := val.([]any)
	if !ok {
		ps.add("sinks", "want a list of sinks (- type: ...), got %s", describe(val))
		return
	}
	var sinkKeys []string
	for _, k := range schema.under("sink") {
		sinkKeys = append(sinkKeys, strings.TrimPrefix(k, "sink."))
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		key := fmt.Sprintf("sinks[%d]", i)
		if !ok {
			ps.add(key, "want a sink (type: ..., path: ... or url: ...), got %s", describe(e))
			continue
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if kd, ok := schema.kinds["sink."+k]; ok {
				checkValue(key+"."+k, m[k], kd, from, ps)
			} else {
				ps.add(key+"."+k, "unknown key%s", suggest(k, sinkKeys))
			}
		}
	}
}

// sinkList decodes the fan-out list, each element over the sink defaults.
func sinkList(doc map[string]any, ps *Problems) []Sink {
	list, ok := doc["sinks"].([]any)
	if !ok {
		return nil
	}
	if _, both := doc["sink"]; both {
		ps.add("sinks", "give either sink or sinks, not both")
	}
	if len(list) == 0 {
		ps.add("sinks", "the list is empty")
	}
	base := map[string]any{}
	for k, v := range Defaults() {
		if strings.HasPrefix(k, "sink.") {
			base[strings.TrimPrefix(k, "sink.")] = v
		}
	}
	var out []Sink
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		merged := map[string]any{}
		for k, v := range base {
			merged[k] = v
		}
		for k, v := range m {
			merged[k] = v
		}
		var s Sink
		if err := mapstructure.Decode(merged, &s); err != nil {
			continue // the type problems are reported by checkSinks
		}
		out = append(out, s)
	}
	return out
}
