//go:build !linux

package stall

import "net"

// acked is unknown off Linux: an upload's progress is seen as its body is
// taken by the transport.
func acked(net.Conn) (uint64, bool) { return 0, false }
