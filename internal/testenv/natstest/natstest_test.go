package natstest

import (
	"net"
	"strings"
	"testing"
)

// The server starts with JetStream on, answers on its port, and is gone after Stop.
func TestStartStop(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.URL, "nats://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(s.Log(), "JetStream") {
		t.Fatalf("JetStream not started:\n%s", s.Log())
	}
	s.Stop()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still answering after Stop")
	}
}
