package config

import "testing"

// Every row of the tables names keys that exist, so a renamed key cannot leave
// a rule that silently checks nothing.
func TestTablesNameKnownKeys(t *testing.T) {
	for _, r := range rules {
		n := 0
		for _, k := range schema.keys {
			if match(r.Key, k) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("rule %s matches no key", r.Key)
		}
	}
	for section, types := range map[string]map[string]backend{"source": sources, "sink": sinks} {
		for name, b := range types {
			for _, k := range b.Required {
				if _, ok := schema.kinds[section+"."+k]; !ok {
					t.Errorf("%s type %s requires %s.%s, which is no key", section, name, section, k)
				}
			}
		}
	}
}
