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
	"sync"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/vpipe/vpipe/registry"
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
	for _, o := range sinkOvs {
		if o.val != nil { // a bad value is reported; the file's stands
			in.given[o.name()] = true
		}
	}

	doc, ok := parse(text, in, ps)
	if !ok {
		return nil, ps.sorted()
	}
	in.fileTypes = backendTypes(doc)
	ovs = applyDecoded(doc, ovs, in.origins)
	applySinkOverrides(doc, sinkOvs, in, ps)
	checkTree(doc, "", in, ps)

	c, ok := decodeCommon(doc, ovs, in.origins, ps)
	if !ok {
		return nil, ps.sorted()
	}
	c.Source = decodeBackend(doc["source"], "source", ps)
	c.Sink = decodeBackend(doc["sink"], "sink", ps)
	c.Sinks = sinkList(doc, ps)
	c.Sections = decodeSections(doc, ps)
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
	return c, nil
}

// decodeCommon decodes the common sections (sampling, stages) over their
// defaults, with the overrides of their keys, through viper.
func decodeCommon(doc map[string]any, ovs []override, origins map[string]string, ps *Problems) (*Config, bool) {
	v := viper.New()
	for k, d := range Defaults() {
		if top, _, _ := strings.Cut(k, "."); !schema().decoded[top] {
			v.SetDefault(k, d)
		}
	}
	common := map[string]any{}
	for k, val := range doc {
		if !schema().decoded[k] && k != "sinks" {
			common[k] = val
		}
	}
	if err := v.MergeConfigMap(common); err != nil {
		ps.add("", "cannot read: %v", err)
		return nil, false
	}
	for _, o := range ovs {
		v.Set(o.key, o.val)
		origins[o.key] = o.from
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		ps.add("", "%v", err)
		return nil, false
	}
	return &c, true
}

// applyDecoded writes the overrides of the sections Load decodes itself (the
// source, the sink, the shared sections) into the parsed file, where they are
// checked against the chosen type; it returns the others, for viper.
func applyDecoded(doc map[string]any, ovs []override, origins map[string]string) []override {
	var rest []override
	for _, o := range ovs {
		top, _, _ := strings.Cut(o.key, ".")
		if !schema().decoded[top] {
			rest = append(rest, o)
			continue
		}
		if _, isSection := doc[top].(map[string]any); !isSection && doc[top] != nil {
			continue // a section given as a value, reported by checkTree
		}
		setPath(doc, strings.Split(o.key, "."), o.val)
		origins[o.key] = o.from
	}
	return rest
}

// decodeBackend decodes a source or sink section (section names the role's
// key path) into its type's config struct, over the type's defaults. An
// unknown type has no struct (reported by check).
func decodeBackend(raw any, section string, ps *Problems) Backend {
	role := schema().roles[section]
	m, _ := raw.(map[string]any)
	typ := registry.Default(role)
	if t, ok := m["type"].(string); ok {
		typ = t
	}
	spec, ok := registry.Lookup(role, typ)
	if !ok {
		return Backend{Type: typ}
	}
	conf := spec.Config(role)
	rest := map[string]any{}
	for k, v := range m {
		if k != "type" {
			rest[k] = v
		}
	}
	var out *registry.Output
	if role == registry.Sink && spec.Kind == registry.Store {
		var err error
		if out, err = decodeOutput(rest); err != nil {
			ps.add(section, "%v", err)
		}
	}
	if err := decode(rest, conf); err != nil {
		ps.add(section, "%v", err) // the keys' types were checked: a backend's struct that does not fit them
	}
	return Backend{Type: typ, Conf: conf, Output: out}
}

// decodeOutput takes out of m, a store sink's keys, those every store sink
// has (format, split) and the layouts' sections, and decodes the common keys
// and the chosen layout's section (the others were refused or dropped by
// checkBackendTree).
func decodeOutput(m map[string]any) (*registry.Output, error) {
	out := registry.NewOutput()
	common := map[string]any{}
	for _, f := range registry.Fields(out) {
		if v, ok := m[f.Key]; ok {
			common[f.Key] = v
			delete(m, f.Key)
		}
	}
	err := decode(common, out)
	sec, _ := m[out.Format].(map[string]any)
	for _, l := range registry.Names(registry.Layout) {
		delete(m, l)
	}
	spec, ok := registry.Lookup(registry.Layout, out.Format)
	if err != nil || !ok {
		return out, err // an unknown format is reported by check
	}
	out.Layout = spec.Config(registry.Layout)
	return out, decode(sec, out.Layout)
}

// decodeSections decodes each shared section over its defaults.
func decodeSections(doc map[string]any, ps *Problems) map[string]any {
	out := map[string]any{}
	for _, sec := range registry.Sections() {
		conf := sec.Config()
		m, _ := doc[sec.Name].(map[string]any)
		if err := decode(m, conf); err != nil {
			ps.add(sec.Name, "%v", err)
		}
		out[sec.Name] = conf
	}
	return out
}

// decode sets the fields of conf (a pointer to a struct) that m names; the
// others keep their values (the defaults).
func decode(m map[string]any, conf any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: conf, ErrorUnused: true})
	if err != nil {
		return err
	}
	return d.Decode(m)
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
			return len(schema().order) + 1
		}
		r := len(schema().order) // unknown keys, after the known ones
		for i, s := range schema().order {
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

// deleteKey removes the value at a key path as interpolation names it:
// dotted map keys, each maybe followed by list indexes ("sinks[0].path"). A
// list element itself is left in place (removing it would renumber the
// others); checkSinks reports what it holds.
func deleteKey(m map[string]any, path string) {
	head, rest, nested := strings.Cut(path, ".")
	name, idx, indexed := strings.Cut(head, "[")
	if !nested {
		if !indexed {
			delete(m, name)
		}
		return
	}
	at := m[name]
	for ; indexed; idx, indexed = strings.CutPrefix(idx, "[") { // idx: "0]" or "0][1]"
		n, after, _ := strings.Cut(idx, "]")
		i, err := strconv.Atoi(n)
		list, ok := at.([]any)
		if err != nil || !ok || i < 0 || i >= len(list) {
			return
		}
		at, idx = list[i], after
	}
	if sub, ok := at.(map[string]any); ok {
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
		if key, ok := schema().byEnv[name]; ok {
			o := override{key: key, val: typed(schema().kinds[key], env[name]), from: "from " + name}
			if checkValue(key, o.val, schema().kinds[key], o.from, ps) {
				out = append(out, o)
			}
			continue
		}
		if referenced[name] {
			continue
		}
		if sec, ok := schema().secByEnv[name]; ok {
			keys := schema().under(sec)
			short := make([]string, len(keys)) // relative to the section
			for i, k := range keys {
				short[i] = strings.TrimPrefix(EnvName(k), name+"_")
			}
			ps.add("", "environment variable %s names the section %s, not a key: set %s_KEY, KEY one of %s",
				name, sec, name, strings.Join(short, ", "))
			continue
		}
		if looksLikeKey(name) {
			ps.add("", "environment variable %s sets no key%s", name, suggest(name, schema().envNames()))
		}
	}
	return out, sinks
}

// setOverrides reads --set key.path=value, in order (a later one wins).
// typed is scalar, except that a list key takes a YAML flow list ([3, 4]).
func typed(k kind, s string) any {
	switch k {
	case kIntList, kTimeList:
		var list []any
		if err := yaml.Unmarshal([]byte(s), &list); err == nil {
			return list
		}
	case kFractions:
		var m map[string]any
		if err := yaml.Unmarshal([]byte(s), &m); err == nil && m != nil {
			return m
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
		kind, ok := schema().kinds[k]
		if !ok {
			if schema().isSection(k) {
				keys := schema().under(k)
				short := make([]string, len(keys)) // relative to the section
				for i, sub := range keys {
					short[i] = strings.TrimPrefix(sub, k+".")
				}
				ps.add(k, "--set names a section, not a key: write --set %s.KEY=%s, KEY one of %s",
					k, val, strings.Join(short, ", "))
			} else {
				ps.add(k, "unknown key (in --set)%s", suggest(k, schema().paths()))
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
	kFractions
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "an integer or null", "true or false", "a list of integers", "a number",
		"a list of times (seconds or \"HH:MM:SS.mmm\")", "a map of names to fractions ({train: 0.8, val: 0.2})"}[k]
}

// keySchema is every key path of Config, in the struct's order, with its
// kind, and the sections (key paths with keys under them). A source or sink
// section holds its type and the union of the keys of the types registered
// for its role (so VPIPE_SINK_URL and --set sink.url are known keys); each
// key is then checked against the chosen type (types). The shared sections
// registered by backends follow the common ones.
type keySchema struct {
	keys     []string // leaf keys
	order    []string // sections and keys, depth first
	kinds    map[string]kind
	sections map[string]bool
	byEnv    map[string]string // VPIPE_SAMPLING_STEP → sampling.step
	secByEnv map[string]string // VPIPE_SAMPLING → sampling
	// roles are the source and sink sections: "source" → registry.Source.
	roles map[string]registry.Kind
	// types are, per role section, each type's keys (relative: "url"; a
	// store sink's include format, split and every layout's: "yolo.task").
	types map[string]map[string][]string
	// layouts are the layouts a store sink may write (its format:), each
	// with its keys (relative to its section: "task").
	layouts map[string][]string
	// decoded are the top-level sections Load decodes itself (the source and
	// sink, the shared sections), not through viper.
	decoded map[string]bool
}

// schema is built once the backends have registered (their packages' init
// runs before any Load), at its first use.
var schema = sync.OnceValue(newSchema)

func newSchema() *keySchema {
	s := &keySchema{kinds: map[string]kind{}, sections: map[string]bool{}, byEnv: map[string]string{}, secByEnv: map[string]string{},
		roles: map[string]registry.Kind{}, types: map[string]map[string][]string{}, decoded: map[string]bool{}, layouts: map[string][]string{}}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		switch {
		case name == "-":
			continue // read by hand (sinks, sections)
		case f.Type == reflect.TypeOf(Backend{}):
			s.addBackends(name, registry.Kind(name))
		default:
			s.addStruct(name, reflect.New(f.Type).Interface())
		}
	}
	for _, sec := range registry.Sections() {
		if s.sections[sec.Name] {
			panic("config: a backend registers the section " + sec.Name + ", which the config has already")
		}
		s.addStruct(sec.Name, sec.Config())
		s.decoded[sec.Name] = true
	}
	return s
}

// addBackends adds a source or sink section: its type, and the keys of every
// type registered for role.
func (s *keySchema) addBackends(section string, role registry.Kind) {
	s.addSection(section)
	s.addKey(section+".type", kString)
	s.roles[section], s.decoded[section] = role, true
	s.types[section] = map[string][]string{}
	for _, name := range registry.Names(role) {
		spec, _ := registry.Lookup(role, name)
		for _, f := range registry.Fields(spec.Config(role)) {
			s.addKey(section+"."+f.Key, kindOf(f.Type, section+"."+f.Key))
			s.types[section][name] = append(s.types[section][name], f.Key)
		}
		if role == registry.Sink && spec.Kind == registry.Store {
			s.addOutput(section, name)
		}
	}
}

// addOutput adds to a store sink type the keys every store sink has (format,
// split) and those of every layout, under the layout's section.
func (s *keySchema) addOutput(section, typ string) {
	for _, f := range registry.Fields(registry.NewOutput()) {
		s.addKey(section+"."+f.Key, kindOf(f.Type, section+"."+f.Key))
		s.types[section][typ] = append(s.types[section][typ], f.Key)
	}
	for _, l := range registry.Names(registry.Layout) {
		spec, _ := registry.Lookup(registry.Layout, l)
		s.layouts[l] = nil
		for _, f := range registry.Fields(spec.Config(registry.Layout)) {
			key := l + "." + f.Key
			s.addKey(section+"."+key, kindOf(f.Type, section+"."+key))
			s.types[section][typ] = append(s.types[section][typ], key)
			s.layouts[l] = append(s.layouts[l], f.Key)
		}
	}
}

// addStruct adds a section and the keys of conf (a pointer to its struct).
func (s *keySchema) addStruct(section string, conf any) {
	s.addSection(section)
	for _, f := range registry.Fields(conf) {
		s.addKey(section+"."+f.Key, kindOf(f.Type, section+"."+f.Key))
	}
}

func (s *keySchema) addSection(path string) {
	if s.sections[path] {
		return
	}
	s.sections[path] = true
	s.order = append(s.order, path)
	s.secByEnv[EnvName(path)] = path
}

// addKey adds a key (and the sections above it); a key two types of one
// role both have must have one kind.
func (s *keySchema) addKey(path string, k kind) {
	if had, ok := s.kinds[path]; ok {
		if had != k {
			panic(fmt.Sprintf("config: key %s is %s for one backend and %s for another", path, had, k))
		}
		return
	}
	for i := range path {
		if path[i] == '.' && i > 0 {
			s.addSection(path[:i])
		}
	}
	s.order = append(s.order, path)
	s.keys = append(s.keys, path)
	s.kinds[path] = k
	s.byEnv[EnvName(path)] = path
}

// kindOf is the kind of a key's Go type.
func kindOf(t reflect.Type, name string) kind {
	switch t.Kind() {
	case reflect.String:
		return kString
	case reflect.Int:
		return kInt
	case reflect.Bool:
		return kBool
	case reflect.Pointer:
		return kOptInt
	case reflect.Float64:
		return kFloat
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return kTimeList
		}
		return kIntList
	case reflect.Map:
		return kFractions
	}
	panic("config: no kind for " + name)
}

// typesWith are the types of a role section that have key (relative).
func (s *keySchema) typesWith(section, key string) []string {
	var out []string
	for typ, keys := range s.types[section] {
		if slices.Contains(keys, key) {
			out = append(out, typ)
		}
	}
	slices.Sort(out)
	return out
}

// typeKeys are the keys of the chosen type of a role section (relative, type
// first); ok is false when the type is not registered.
func (s *keySchema) typeKeys(section, typ string) (keys []string, ok bool) {
	ks, ok := s.types[section][typ]
	if !ok {
		if _, known := registry.Lookup(s.roles[section], typ); !known {
			return nil, false
		}
	}
	return append([]string{"type"}, ks...), true
}

// ofFormat leaves out of a store sink's keys those of the layouts its
// format (m's, or the default) does not name.
func (s *keySchema) ofFormat(keys []string, m map[string]any) []string {
	format := registry.Default(registry.Layout)
	if f, ok := m["format"].(string); ok {
		format = f
	}
	return slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
		l, _, nested := strings.Cut(k, ".")
		_, isLayout := s.layouts[l]
		return nested && isLayout && l != format
	})
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
func checkTree(m map[string]any, prefix string, in *interpolation, ps *Problems) {
	origins := in.origins
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		path := prefix + k
		val := m[k]
		if path == "sinks" {
			checkSinks(val, in, ps)
			continue
		}
		if _, isRole := schema().roles[path]; isRole {
			if sub, ok := val.(map[string]any); ok {
				checkBackendTree(sub, path, path, in, ps)
				continue
			}
		}
		if kind, ok := schema().kinds[path]; ok {
			if !checkValue(path, val, kind, origins[path], ps) {
				delete(m, k)
			}
			continue
		}
		if schema().isSection(path) {
			switch sub := val.(type) {
			case map[string]any:
				checkTree(sub, path+".", in, ps)
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
		ps.add(path, "unknown %s%s", what, suggest(path, schema().paths()))
	}
}

// sectionHint shows the form a section takes: "height: …, width: …".
func sectionHint(section string) string {
	var names []string
	for _, k := range schema().order {
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
	case kFractions:
		var m map[string]any
		m, ok = val.(map[string]any)
		for _, x := range m {
			switch x.(type) {
			case int, float64:
			default:
				ok = false
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
	for _, k := range schema().keys {
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
func checkSinks(val any, in *interpolation, ps *Problems) {
	list, ok := val.([]any)
	if !ok {
		ps.add("sinks", "want a list of sinks (- type: ...), got %s", describe(val))
		return
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		key := fmt.Sprintf("sinks[%d]", i)
		if !ok {
			ps.add(key, "want a sink (type: ..., path: ... or url: ...), got %s", describe(e))
			continue
		}
		checkBackendTree(m, "sink", key, in, ps)
	}
}

// checkBackendTree checks the keys of a source or sink: those of its type
// (or, when the type is unknown, of any type of the role) with their kinds.
// section is the role's key path ("sink"), name the one problems use ("sink",
// "sinks[1]"). What it reports it removes, so the defaults stand in. A type
// given by VPIPE_* or --set replaces the file's backend: the file's keys its
// type does not have are dropped, not refused (`--set sink.type=s3` over a
// file with a local sink's path), while an override's own are refused.
func checkBackendTree(m map[string]any, section, name string, in *interpolation, ps *Problems) {
	origins := in.origins
	typ := typeOf(m, section)
	typeOverridden := in.given[name+".type"] && in.fileTypes[name] != typ
	own, known := schema().typeKeys(section, typ)
	own = schema().ofFormat(own, m)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		key, path := name+"."+k, section+"."+k
		if _, isLayout := schema().layouts[k]; isLayout && schema().roles[section] == registry.Sink {
			if !checkLayoutSection(m, k, section, name, typ, known, in, ps) {
				delete(m, k)
			}
			continue
		}
		kd, inRole := schema().kinds[path]
		switch {
		case inRole && (!known || slices.Contains(own, k)):
			if !checkValue(key, m[k], kd, origin(origins, key, name), ps) {
				delete(m, k)
			}
			continue
		case slices.ContainsFunc(ps.List, func(p Problem) bool { return p.Key == key }):
			// a ${VAR} in the key, reported
		case inRole && typeOverridden && !in.given[key]:
			// the file's key of the backend an override replaced
		case inRole: // another type's key
			ps.List = append(ps.List, Problem{Key: key, From: origin(origins, key, name),
				Msg: fmt.Sprintf("a key of %s type %s only (this %s's type is %s, whose keys are %s): remove it%s",
					section, strings.Join(schema().typesWith(section, k), " or "), section, typ, strings.Join(own, ", "), suggest(k, own))})
		default:
			candidates := own
			if !known {
				candidates = schema().under(section)
				for i, c := range candidates {
					candidates[i] = strings.TrimPrefix(c, section+".")
				}
			}
			ps.List = append(ps.List, Problem{Key: key, From: origin(origins, key, name),
				Msg: "unknown key" + suggestUnder(name, k, candidates)})
		}
		delete(m, k)
	}
}

// checkLayoutSection checks the section of a layout (k: "yolo") in a sink
// (name: "sink", "sinks[1]"): the sink is a store whose format is that
// layout, and the section's keys are the layout's, with their kinds. It
// tells whether the section stays; what it reports goes. A format given by
// VPIPE_* or --set replaces the file's, whose layout section is then
// dropped, not refused (as checkBackendTree does for a type).
func checkLayoutSection(m map[string]any, k, section, name, typ string, known bool, in *interpolation, ps *Problems) bool {
	key := name + "." + k
	from := origin(in.origins, key, name)
	for o, f := range in.origins { // a section given key by key (--set sink.yolo.task=pose)
		if from == "" && strings.HasPrefix(o, key+".") {
			from = f
		}
	}
	add := func(msg string, a ...any) {
		ps.List = append(ps.List, Problem{Key: key, From: from, Msg: fmt.Sprintf(msg, a...)})
	}
	format := registry.Default(registry.Layout)
	if f, ok := m["format"].(string); ok {
		format = f
	}
	spec, _ := registry.Lookup(schema().roles[section], typ)
	switch {
	case m[k] == nil: // an empty section
		return false
	case known && spec.Kind != registry.Store:
		add("the section of format %s: only a store sink writes formats (this %s's type is %s): remove it", k, section, typ)
		return false
	case k != format && in.given[name+".format"] && !givenUnder(in, key):
		return false // the file's section of the format an override replaced
	case k != format:
		add("the section of format %s, but this %s's format is %s: remove it, or set format: %s", k, section, format, k)
		return false
	}
	sub, ok := m[k].(map[string]any)
	if !ok {
		add("want a section (%s), got %s", sectionHint(section+"."+k), describe(m[k]))
		return false
	}
	subs := make([]string, 0, len(sub))
	for sk := range sub {
		subs = append(subs, sk)
	}
	sort.Strings(subs)
	for _, sk := range subs {
		skey := key + "." + sk
		kd, ok := schema().kinds[section+"."+k+"."+sk]
		if !ok {
			ps.List = append(ps.List, Problem{Key: skey, From: origin(in.origins, skey, name),
				Msg: "unknown key" + suggestUnder(key, sk, schema().layouts[k])})
			delete(sub, sk)
			continue
		}
		if !checkValue(skey, sub[sk], kd, origin(in.origins, skey, name), ps) {
			delete(sub, sk)
		}
	}
	return true
}

// givenUnder tells whether an override gave a key under section.
func givenUnder(in *interpolation, section string) bool {
	for k := range in.given {
		if strings.HasPrefix(k, section+".") {
			return true
		}
	}
	return false
}

// typeOf is the type a source or sink section gives (its role's default
// when it gives none).
func typeOf(m map[string]any, section string) string {
	if t, ok := m["type"].(string); ok {
		return t
	}
	return registry.Default(schema().roles[section])
}

// backendTypes are the types of the parsed file's source, sink and sinks:
// list, by the name problems use ("sinks[1]").
func backendTypes(doc map[string]any) map[string]string {
	out := map[string]string{}
	for section := range schema().roles {
		if m, ok := doc[section].(map[string]any); ok {
			out[section] = typeOf(m, section)
		}
	}
	list, _ := doc["sinks"].([]any)
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			out[fmt.Sprintf("sinks[%d]", i)] = typeOf(m, "sink")
		}
	}
	return out
}

// origin is where key's value came from: its own origin, else its section's
// (a sinks list given by a variable).
func origin(origins map[string]string, key, section string) string {
	if o, ok := origins[key]; ok {
		return o
	}
	if strings.HasPrefix(section, "sinks[") {
		return origins["sinks"]
	}
	return ""
}

// suggestUnder suggests the closest key of a section, named as the section
// names its keys: "sink.path" under sink, "path" under sinks[1].
func suggestUnder(section, key string, keys []string) string {
	if strings.HasPrefix(section, "sinks[") {
		return suggest(key, keys)
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = section + "." + k
	}
	return suggest(section+"."+key, full)
}

// sinkList decodes the fan-out list, each element as the sink section.
func sinkList(doc map[string]any, ps *Problems) []Backend {
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
	var out []Backend
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue // reported by checkSinks
		}
		var sub Problems
		b := decodeBackend(m, "sink", &sub)
		for _, p := range sub.List {
			ps.add(fmt.Sprintf("sinks[%d]", i), "%s", p.Msg)
		}
		out = append(out, b)
	}
	return out
}
