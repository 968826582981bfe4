package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Interpolation works on parsed values, never on the file's text, so whatever a
// variable holds (": ", " #", a leading "*", brackets) stays one value:
//
//  1. every ${...} in the text is swapped for an inert token (letters and digits
//     only), so a reference cannot change how the YAML parses, in flow style too;
//  2. the text is parsed into nodes;
//  3. every scalar value holding tokens gets the variables' values. A plain
//     (unquoted) scalar that is exactly one reference is typed as YAML would type
//     the value as a scalar (`step: ${STEP}` with STEP=5 is the integer 5); any
//     other one is a string. No value is ever parsed as structure.

// refRe finds what looks like a reference; parseRef says whether it is one.
var refRe = regexp.MustCompile(`\$\{[^}\n]*\}`)

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ref is one ${NAME} or ${NAME:default}.
type ref struct {
	text       string // as written
	name       string
	def        string
	hasDefault bool
	bad        string // why it is not a reference, "" if it is
}

func parseRef(text string) ref {
	r := ref{text: text}
	body := text[2 : len(text)-1]
	name, def, hasDefault := strings.Cut(body, ":")
	r.name, r.def, r.hasDefault = name, def, hasDefault
	switch {
	case !nameRe.MatchString(name):
		r.bad = "is not a variable reference (write ${NAME} or ${NAME:default}; NAME is letters, digits and _)"
	case hasDefault && strings.HasPrefix(def, "-"):
		r.bad = fmt.Sprintf("is the shell's form; vpipe's default follows one colon: write ${%s:%s}", name, def[1:])
	}
	return r
}

// interpolation holds the references of one file while its nodes are filled in.
type interpolation struct {
	token   *regexp.Regexp
	refs    []ref
	env     map[string]string
	given   map[string]bool // keys set by --set or VPIPE_*: an unset ${VAR} there is fine
	dropped []string        // keys left out: a reference was wrong or unset
	origins map[string]string
	ps      *Problems
	// fileTypes are the types the file gives its source and sinks ("sink",
	// "sinks[1]"; the default when it gives none), before any override.
	fileTypes map[string]string
}

// protect swaps every reference in text for a token and returns the new text.
func (in *interpolation) protect(text string) string {
	prefix := "vpipeRef"
	for strings.Contains(text, prefix) {
		prefix += "x"
	}
	in.token = regexp.MustCompile(prefix + `([0-9]+)Z`)
	return refRe.ReplaceAllStringFunc(text, func(m string) string {
		in.refs = append(in.refs, parseRef(m))
		return prefix + strconv.Itoa(len(in.refs)-1) + "Z"
	})
}

// names are the variables the file refers to.
func (in *interpolation) names() map[string]bool {
	out := map[string]bool{}
	for _, r := range in.refs {
		if r.bad == "" {
			out[r.name] = true
		}
	}
	return out
}

// restore writes the references' text back (for messages and keys).
func (in *interpolation) restore(s string) string {
	return in.token.ReplaceAllStringFunc(s, func(m string) string {
		return in.refs[in.index(m)].text
	})
}

func (in *interpolation) index(tok string) int {
	i, _ := strconv.Atoi(in.token.FindStringSubmatch(tok)[1])
	return i
}

// fill interpolates the values under n, whose key path is path.
func (in *interpolation) fill(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			in.fill(c, p)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if in.token.MatchString(k.Value) {
				k.Value = in.restore(k.Value)
				in.ps.add(join(path, k.Value), "a key is not interpolated, only values are")
			}
			in.fill(n.Content[i+1], join(path, k.Value))
		}
	case yaml.ScalarNode:
		in.scalar(n, path)
	}
}

func (in *interpolation) scalar(n *yaml.Node, path string) {
	if strings.Contains(n.Value, "${") { // what refRe did not take has no "}" on its line
		in.ps.add(path, "%q: ${ without its }", in.restore(n.Value))
		in.dropped = append(in.dropped, path)
		return
	}
	toks := in.token.FindAllStringIndex(n.Value, -1)
	if toks == nil {
		return
	}
	exact := len(toks) == 1 && toks[0][0] == 0 && toks[0][1] == len(n.Value) && n.Style == 0
	ok, unset := true, false
	var names []string
	value := in.token.ReplaceAllStringFunc(n.Value, func(tok string) string {
		r := in.refs[in.index(tok)]
		names = append(names, "${"+r.name+"}")
		if r.bad != "" {
			in.ps.add(path, "%s %s", r.text, r.bad)
			ok = false
			return ""
		}
		if v, set := in.env[r.name]; set {
			return v
		}
		if r.hasDefault {
			return r.def
		}
		unset = true
		if !in.given[path] {
			in.ps.add(path, "%s is not set and has no default (set %s, or write ${%s:default})", r.text, r.name, r.name)
			ok = false
		}
		return ""
	})
	n.Value, n.Tag = value, "!!str"
	if _, isString := scalar(value).(string); exact && !isString {
		// typed like a plain scalar when decoded: 5 → int, true → bool, "" → null
		n.Value, n.Tag = strings.TrimSpace(value), ""
	}
	if !ok || unset {
		// Leave the key out: the problem is reported (or an override gives the
		// value), and the default stands in so the other checks still run.
		in.dropped = append(in.dropped, path)
		return
	}
	in.origins[path] = "from " + strings.Join(names, ", ")
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// scalar types a variable's text (${VAR}, VPIPE_*, --set) as YAML types a
// plain scalar, spaces around it aside: 5 is an integer, true a boolean, null
// or "" null; anything else is the text itself, a string, never a list or a
// section.
func scalar(s string) any {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: strings.TrimSpace(s)}
	var x any
	if err := n.Decode(&x); err != nil {
		return s
	}
	if _, isString := x.(string); isString {
		return s
	}
	return x
}
