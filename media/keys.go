package media

// KeyIndices lists the frame indices of the keyframes the scan found, in
// increasing order (the frames `-skip_frame nokey` decodes).
func (x *Index) KeyIndices() []int {
	out := make([]int, 0, len(x.Keys))
	for _, k := range x.Keys {
		if i, ok := x.Lookup(k.pts); ok && (len(out) == 0 || out[len(out)-1] != i) {
			out = append(out, i)
		}
	}
	return out
}
