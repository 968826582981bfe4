package verify

import "math/rand/v2"

// sample draws n of keys (sorted) with seed: the same keys and seed draw the
// same images on every machine and Go version, since it uses only PCG's
// output (specified), not rand's helpers (whose algorithms may change). A
// partial Fisher–Yates shuffle: each key is as likely as any other.
func sample(keys []string, n int, seed uint64) map[string]bool {
	k := append([]string(nil), keys...)
	n = min(n, len(k))
	r := rand.NewPCG(seed, 0x76706970652d7631) // "vpipe-v1": a fixed second word
	for i := 0; i < n; i++ {
		j := i + int(r.Uint64()%uint64(len(k)-i)) // a bias of at most len/2^64
		k[i], k[j] = k[j], k[i]
	}
	out := make(map[string]bool, n)
	for _, key := range k[:n] {
		out[key] = true
	}
	return out
}
