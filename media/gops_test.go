package media

import "testing"

// TestGOPCounterBackstops: the checks real files rarely reach, fed as a decoder
// would: a packet is sent, then the frames it lets out. GOPs of 4 packets.
func TestGOPCounterBackstops(t *testing.T) {
	t.Run("a GOP a frame short is found when it closes", func(t *testing.T) {
		c := newGOPCounter([]int{4}, 8)
		// Packet 2 vanishes without an error while the decoder (delay 2) holds
		// packet 1, so the held count does not give it away.
		c.send(0)
		c.send(1)
		c.send(2)
		for _, d := range []int{0, 3} {
			if d == 3 {
				c.send(3)
			}
			if _, ok, bad := c.number(d, 2); !ok || bad != nil {
				t.Fatalf("tag %d: ok=%v bad=%v", d, ok, bad)
			}
		}
		c.send(4)
		c.number(1, 2)
		c.send(5)
		i, ok, bad := c.number(4, 2)
		if !ok || i != 4 || len(bad) != 1 || bad[0].first != 0 || bad[0].end != 4 {
			t.Fatalf("first frame of GOP 2: %d %v %+v, want 4 and GOP 0-3 bad", i, ok, bad)
		}
	})
	t.Run("two frames for one packet", func(t *testing.T) {
		c := newGOPCounter(nil, 2)
		c.send(0)
		c.number(0, 0)
		c.send(1)
		c.number(1, 0)
		if _, ok, bad := c.number(1, 0); ok || len(bad) != 1 {
			t.Fatalf("a second frame for packet 1: ok=%v bad=%+v", ok, bad)
		}
	})
	t.Run("a keyframe that does not restart presentation order", func(t *testing.T) {
		c := newGOPCounter([]int{2}, 4)
		c.send(0)
		c.send(1)
		c.send(2)
		c.number(0, 3)
		// Frame of the second GOP while packet 1 is still held: GOP 0 is closed short.
		if _, _, bad := c.number(2, 3); len(bad) != 1 || bad[0].first != 0 || bad[0].end != 2 {
			t.Fatalf("GOP 1's frame before GOP 0's last: bad=%+v", bad)
		}
		if _, ok, _ := c.number(1, 3); ok {
			t.Fatal("GOP 0's late frame was numbered")
		}
	})
}
