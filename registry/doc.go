package registry

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Markdown is the reference page of the registered backends and shared
// sections (docs/backends.md): for each type its summary and, for each key,
// its type, default (per role where they differ), whether it is required and
// its doc line. It is generated, never written by hand, so it cannot drift
// from the code.
func Markdown() string {
	var b strings.Builder
	b.WriteString(`<!-- Generated from the registered backends (registry.Markdown). Do not edit: run "go generate ./docs". -->

# Backends

A source or sink is chosen by its ` + "`type:`" + ` under ` + "`source:`" + `, ` + "`sink:`" + ` or an element of
` + "`sinks:`" + `; the other keys of that section are the type's own, listed below (set in the file, by
` + "`--set source.KEY=…`" + ` / ` + "`sink.KEY`" + ` / ` + "`sinks[I].KEY`" + `, or by ` + "`VPIPE_SOURCE_KEY`" + ` / ` + "`VPIPE_SINK_KEY`" + ` /
` + "`VPIPE_SINKS_I_KEY`" + `). A key the chosen type does not take is refused, naming the type and its keys.
The common keys are in [Configuration](configuration.md); how each backend behaves is in
[Sources and sinks](sources-and-sinks.md).

A store (where bytes live: a folder, a bucket) is a sink type: a dataset layout written on it, the one its
` + "`format:`" + ` names ([Formats](#formats-of-a-store-sink), below; the Supervisely project by default, see
[layout](layout.md)). A store marked as a source too is also a source type: videos listed and read with ranged
reads, as a plain tree of videos or a Supervisely video project.

`)
	fmt.Fprintf(&b, "Without `type:`, a source is `%s` and a sink `%s`.\n", Default(Source), Default(Sink))
	for _, group := range []struct {
		title, intro string
		kind         Kind
	}{{"Sources", "Besides these, each store marked as a source below.", Source},
		{"Sinks", "Besides these, every store below.", Sink},
		{"Stores", "Each is a sink type, and a source type where marked.", Store}} {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", group.title, group.intro)
		for _, s := range Specs() {
			if s.Kind == group.kind {
				writeSpec(&b, s)
			}
		}
	}
	writeLayouts(&b)
	if secs := Sections(); len(secs) > 0 {
		b.WriteString("\n## Shared sections\n\nTop-level sections that several backends read (a service's connection settings).\n")
		for _, sec := range secs {
			writeSection(&b, sec)
		}
	}
	return b.String()
}

func writeSpec(b *strings.Builder, s Spec) {
	roles := []Kind{s.Kind}
	as := ""
	if s.Kind == Store {
		roles, as = []Kind{Sink}, " (a sink type)"
		if s.StoreSource {
			roles, as = []Kind{Source, Sink}, " (a source and a sink type)"
		}
	}
	fmt.Fprintf(b, "\n### `%s`%s\n\n%s\n", s.Name, as, s.Summary)
	if len(s.Uses) > 0 {
		fmt.Fprintf(b, "\nAlso reads the top-level section(s) %s (below).\n", codeList(s.Uses, ":"))
	}
	confs := map[Kind]any{}
	for _, r := range roles {
		confs[r] = s.Config(r)
	}
	fields := Fields(confs[roles[0]])
	if len(fields) == 0 {
		b.WriteString("\nIt takes no keys but `type`.\n")
		return
	}
	b.WriteString("\n| key | type | default | required | |\n|---|---|---|---|---|\n")
	for _, f := range fields {
		req := ""
		switch {
		case f.Required && f.Value(confs[roles[0]]).IsZero():
			req = "yes"
		case f.Required:
			req = "not empty"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", f.Key, typeName(f.Type), roleDefaults(f, roles, confs), req, cell(f.Doc))
	}
}

// writeLayouts documents the keys every store sink takes (format, split) and
// each layout, its keys under its own section (yolo.task).
func writeLayouts(b *strings.Builder) {
	b.WriteString(`
## Formats of a store sink

Every store above, as a sink (` + "`sink:`" + ` or an element of ` + "`sinks:`" + `), also takes these keys. The
formats are described in [Training formats](formats.md) and [layout](layout.md); a format's own keys go in
the section named after it (` + "`yolo: {task: pose}`" + `, ` + "`--set sink.yolo.task=pose`" + `), and a section of a format the
sink does not write is refused.

`)
	out := NewOutput()
	b.WriteString("| key | type | default | |\n|---|---|---|---|\n")
	for _, f := range Fields(out) {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Key, typeName(f.Type), show(f.Value(out)), cell(f.Doc))
	}
	for _, s := range Specs() {
		if s.Kind != Layout {
			continue
		}
		fmt.Fprintf(b, "\n### `format: %s`\n\n%s\n", s.Name, s.Summary)
		conf := s.Config(Layout)
		fields := Fields(conf)
		if len(fields) == 0 {
			b.WriteString("\nIt has no keys of its own.\n")
			continue
		}
		b.WriteString("\n| key | type | default | |\n|---|---|---|---|\n")
		for _, f := range fields {
			fmt.Fprintf(b, "| `%s.%s` | %s | %s | %s |\n", s.Name, f.Key, typeName(f.Type), show(f.Value(conf)), cell(f.Doc))
		}
	}
}

func writeSection(b *strings.Builder, sec SectionSpec) {
	fmt.Fprintf(b, "\n### `%s:`\n\n%s\n", sec.Name, sec.Summary)
	var users []string
	for _, s := range Specs() {
		if slices.Contains(s.Uses, sec.Name) {
			users = append(users, fmt.Sprintf("%s `%s`", s.Kind, s.Name))
		}
	}
	if len(users) > 0 {
		fmt.Fprintf(b, "\nRead by: %s.", strings.Join(users, ", "))
		if sec.MaxBatch > 0 {
			fmt.Fprintf(b, " While one of them is configured, `stages.batch.batch_size` is at most %d (the most images one call takes).", sec.MaxBatch)
		}
		b.WriteString("\n")
	}
	conf := sec.Config()
	b.WriteString("\n| key | type | default | |\n|---|---|---|---|\n")
	for _, f := range Fields(conf) {
		fmt.Fprintf(b, "| `%s.%s` | %s | %s | %s |\n", sec.Name, f.Key, typeName(f.Type), show(f.Value(conf)), cell(f.Doc))
	}
}

// roleDefaults is a key's default, per role where the roles' defaults differ;
// "—" for a required key without one.
func roleDefaults(f Field, roles []Kind, confs map[Kind]any) string {
	var parts []string
	same := true
	for _, r := range roles {
		v := show(f.Value(confs[r]))
		parts = append(parts, fmt.Sprintf("%s %s", r, v))
		same = same && v == show(f.Value(confs[roles[0]]))
	}
	if same {
		if f.Required && f.Value(confs[roles[0]]).IsZero() {
			return "—"
		}
		return show(f.Value(confs[roles[0]]))
	}
	return strings.Join(parts, ", ")
}

// show is a default as YAML writes it.
func show(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return fmt.Sprintf("`%q`", v.String())
	case reflect.Pointer:
		if v.IsNil() {
			return "`null`"
		}
		return show(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return "`[" + strings.Join(parts, ", ") + "]`"
	case reflect.Map:
		keys := v.MapKeys()
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%v: %v", k.Interface(), v.MapIndex(k).Interface())
		}
		slices.Sort(parts)
		return "`{" + strings.Join(parts, ", ") + "}`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

// typeName is how the reference names a key's type.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Pointer:
		return typeName(t.Elem()) + " or null"
	case reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map of " + typeName(t.Key()) + "s to " + typeName(t.Elem()) + "s"
	}
	return t.String()
}

// cell keeps a doc line inside its table cell, as text (no HTML tag).
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", `\<`, ">", `\>`).Replace(s)
}

func codeList(names []string, suffix string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + suffix + "`"
	}
	return strings.Join(out, ", ")
}
