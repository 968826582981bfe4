package queue

import (
	"strings"
	"testing"
)

// TestRedact: no password of any server in a --nats list reaches a log line,
// whatever characters it holds.
func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:pw1@h:4222", "nats://h:4222"},
		{"nats://u:p@ss@h", "nats://h"},
		{"nats://a:pw1@h1,nats://a:pw2@h2", "nats://h1,nats://h2"},
		{"nats://a:pw1@h1, nats://tok@h2:4223", "nats://h1,nats://h2:4223"},
		{"h1:4222", "h1:4222"},
		{"nats://u:pw1%zz@h", "nats://h"}, // unparsable: still cut
	} {
		got := redact(c.in)
		if got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, secret := range []string{"pw1", "pw2", "ss@", "tok", "u:"} {
			if strings.Contains(got, secret) {
				t.Errorf("redact(%q) = %q keeps %q", c.in, got, secret)
			}
		}
	}
}
