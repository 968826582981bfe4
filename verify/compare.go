package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vpipe/vpipe/core"
)

// Put compares a re-derived image with the dataset's: the image the
// selection wants and the dataset lacks is missing (unless a salvage listed
// its frame as not written); one it has is compared pixel by pixel, meta and
// annotation as JSON values. It keeps nothing of img.Data.
func (k *sink) Put(ctx context.Context, img *core.Image) error {
	key, ds, err := imageOf(img)
	if err != nil {
		return err
	}
	var ms []Mismatch
	psnr := math.Inf(1)
	i := frameIndex(img)
	switch {
	case !k.stored.images[ds][img.Name]:
		if !k.stored.missing[ds].has(i) {
			ms = append(ms, Mismatch{Image: key, Reason: "missing", Detail: fmt.Sprintf("the selection takes frame %d; the dataset has no image of it", i)})
		}
	default:
		if ms, psnr, err = k.compare(ctx, key, ds, img); err != nil {
			return err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.results[key] = ms
	if k.lossy.format != "" && k.checked[key] {
		k.lossyN++
		k.lowest = math.Min(k.lowest, psnr)
	}
	return nil
}

// compare reads the dataset's image, meta and annotation and compares each
// with the re-derived one. Its error is a read that failed (the store), not a
// difference.
func (k *sink) compare(ctx context.Context, key, ds string, img *core.Image) ([]Mismatch, float64, error) {
	data, found, err := k.st.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	if !found { // gone since the listing
		return []Mismatch{{Image: key, Reason: "missing", Detail: fmt.Sprintf("the selection takes frame %d; the image was removed during the verification", frameIndex(img))}}, 0, nil
	}
	var ms []Mismatch
	reason, detail, psnr := comparePictures(data, img.Data, k.lossy)
	if reason != "" {
		ms = append(ms, Mismatch{Image: key, Reason: reason, Detail: detail})
	}
	for _, f := range []struct {
		reason, dir, made string
		want              any
	}{
		{"meta", "meta", "video", img.Meta},
		{"annotation", "ann", "fresh", img.Ann},
	} {
		m, err := k.compareJSON(ctx, key, ds+"/"+f.dir+"/"+img.Name+".json", f.reason, f.made, f.want)
		if err != nil {
			return nil, 0, err
		}
		if m != nil {
			ms = append(ms, *m)
		}
	}
	return ms, psnr, nil
}

// compareJSON compares the dataset's JSON file at file with want.
func (k *sink) compareJSON(ctx context.Context, key, file, reason, made string, want any) (*Mismatch, error) {
	b, found, err := k.st.Get(ctx, file)
	if err != nil {
		return nil, err
	}
	if !found {
		return &Mismatch{Image: key, Reason: reason, Detail: fmt.Sprintf("the dataset has no %s", file)}, nil
	}
	var have any
	if err := jsonStrict(b, &have); err != nil {
		return &Mismatch{Image: key, Reason: reason, Detail: fmt.Sprintf("%s: %v", file, err)}, nil
	}
	if d := jsonDiffs(have, want, made); len(d) > 0 {
		return &Mismatch{Image: key, Reason: reason, Detail: strings.Join(d, "; ")}, nil
	}
	return nil, nil
}

// jsonStrict reads one JSON document.
func jsonStrict(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

// nameIndex reads the frame index of an image name vpipe gives
// ("clip.mp4_frame_007.png"): ok is false for any other name.
func nameIndex(name string) (int, bool) {
	i := strings.LastIndex(name, "_frame_")
	if i < 0 {
		return 0, false
	}
	digits, _, _ := strings.Cut(name[i+len("_frame_"):], ".")
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' {
		return 0, false
	}
	return n, true
}
