package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A key of one sink of the fan-out list, given by --set or the environment:
// --set sinks[1].path=out2 (or sinks.1.path=out2) and VPIPE_SINKS_1_PATH=out2.
// Such a key takes the values sink.KEY takes, and names a sink the file lists.
var (
	sinkSetKey = regexp.MustCompile(`^sinks(?:\[(\d+)\]|\.(\d+))\.(.+)$`)
	sinkEnvKey = regexp.MustCompile(`^` + EnvPrefix + `SINKS_(\d+)_(.+)$`)
)

// sinkOverride is a value for key (a sink key, "path") of sinks[index].
type sinkOverride struct {
	index int
	key   string
	val   any
	from  string
}

// name is how problems name the key: sinks[1].path.
func (o sinkOverride) name() string { return fmt.Sprintf("sinks[%d].%s", o.index, o.key) }

// sinkSet reads k as a key of one fan-out sink; ok false when k is not one.
// A key of that form that sink does not have is a problem.
func sinkSet(k, val string, ps *Problems) (o sinkOverride, ok bool) {
	m := sinkSetKey.FindStringSubmatch(k)
	if m == nil {
		return o, false
	}
	i, _ := strconv.Atoi(m[1] + m[2])
	return sinkValue(i, m[3], val, "from --set", ps)
}

// sinkEnv reads an environment variable as a key of one fan-out sink.
func sinkEnv(name, val string, ps *Problems) (o sinkOverride, ok bool) {
	m := sinkEnvKey.FindStringSubmatch(name)
	if m == nil {
		return o, false
	}
	i, _ := strconv.Atoi(m[1])
	key, known := schema().byEnv[EnvPrefix+"SINK_"+m[2]]
	if !known {
		var names []string // a sink's variables, in this sink's SINKS_i form
		for _, k := range schema().under("sink") {
			names = append(names, EnvPrefix+"SINKS_"+m[1]+"_"+strings.TrimPrefix(EnvName(k), EnvPrefix+"SINK_"))
		}
		ps.add("", "environment variable %s sets no key of a sink%s", name, suggest(name, names))
		return o, true
	}
	return sinkValue(i, strings.TrimPrefix(key, "sink."), val, "from "+name, ps)
}

// sinkValue types val as sink.key takes it; ok is true whether or not the
// value was good (a problem is reported), so the caller does not read k again.
func sinkValue(i int, key, val, from string, ps *Problems) (sinkOverride, bool) {
	o := sinkOverride{index: i, key: key, from: from}
	kd, known := schema().kinds["sink."+key]
	if !known {
		var keys []string // a sink's keys, as a sinks[i] entry names them
		for _, k := range schema().under("sink") {
			keys = append(keys, strings.TrimPrefix(k, "sink."))
		}
		ps.add(o.name(), "unknown key of a sink (%s)%s", from, suggest(key, keys))
		return o, true
	}
	o.val = typed(kd, val)
	if !checkValue(o.name(), o.val, kd, from, ps) {
		o.val = nil
	}
	return o, true
}

// applySinkOverrides writes the overrides into the parsed file's sinks list,
// each into the sink it names, which the file must list.
func applySinkOverrides(doc map[string]any, ovs []sinkOverride, in *interpolation, ps *Problems) {
	for _, o := range ovs {
		if o.val == nil {
			continue // its problem is reported
		}
		list, isList := doc["sinks"].([]any)
		if o.index >= len(list) {
			ps.add(o.name(), "(%s) names no sink: %s", o.from, sinkListHint(doc, isList, len(list), o.key))
			continue
		}
		m, ok := list[o.index].(map[string]any)
		if !ok {
			continue // checkSinks reports the element
		}
		setPath(m, strings.Split(o.key, "."), o.val)
		in.origins[o.name()], in.given[o.name()] = o.from, true
	}
}

// sinkListHint says which sinks a file lists, for an override naming one
// it does not.
func sinkListHint(doc map[string]any, isList bool, n int, key string) string {
	switch {
	case !isList && doc["sink"] != nil:
		return fmt.Sprintf("the config has no sinks: list (its sink: is set as sink.%s)", key)
	case !isList:
		return "the config has no sinks: list"
	case n == 0:
		return "the config's sinks: list is empty"
	}
	return fmt.Sprintf("the config lists %d under sinks: (sinks[0] to sinks[%d])", n, n-1)
}

// setPath sets a dotted key in nested maps, making the maps it needs.
func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
