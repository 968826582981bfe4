package config

import (
	"testing"

	_ "github.com/vpipe/vpipe/backends/all" // the backends, registered
	"github.com/vpipe/vpipe/registry"
)

// Every row of the tables names keys that exist, so a renamed key cannot leave
// a rule that silently checks nothing.
func TestTablesNameKnownKeys(t *testing.T) {
	for _, r := range rules {
		n := 0
		for _, k := range schema().keys {
			if match(r.Key, k) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("rule %s matches no key", r.Key)
		}
	}
}

// Every key of every registered source and sink type is a key of its
// section, and the schema knows which type has it.
func TestSchemaHoldsEveryBackend(t *testing.T) {
	for section, role := range map[string]registry.Kind{"source": registry.Source, "sink": registry.Sink} {
		for _, name := range registry.Names(role) {
			spec, _ := registry.Lookup(role, name)
			own, ok := schema().typeKeys(section, name)
			if !ok {
				t.Errorf("%s type %s: not in the schema", section, name)
			}
			for _, f := range registry.Fields(spec.Config(role)) {
				if _, known := schema().kinds[section+"."+f.Key]; !known || !contains(own, f.Key) {
					t.Errorf("%s type %s: key %s.%s unknown to the schema", section, name, section, f.Key)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
