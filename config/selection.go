package config

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/vpipe/vpipe/sampling"
)

// The frame-choosing keys: at most one may be set (README, "Which frames").
var choosers = []string{"sampling.fps", "sampling.max_fps", "sampling.frames", "sampling.times", "sampling.frames_file", "sampling.keyframes_only"}

func init() {
	rules = append(rules,
		rule{"sampling.fps", chooser(rate)},
		rule{"sampling.max_fps", chooser(rate)},
		rule{"sampling.frames", chooser(func(v reflect.Value, _ *Config) string {
			for i := 0; i < v.Len(); i++ {
				if v.Index(i).Int() < 0 {
					return fmt.Sprintf("item %d: a frame index must be >= 0, got %d", i, v.Index(i).Int())
				}
			}
			return ""
		})},
		rule{"sampling.times", chooser(func(v reflect.Value, _ *Config) string {
			for i := 0; i < v.Len(); i++ {
				if _, err := sampling.ParseTime(v.Index(i).String()); err != nil {
					return fmt.Sprintf("item %d: %v", i, err)
				}
			}
			return ""
		})},
		rule{"sampling.frames_file", chooser(func(v reflect.Value, _ *Config) string {
			if _, err := sampling.ReadFramesFile(v.String()); err != nil {
				return err.Error()
			}
			return ""
		})},
		rule{"sampling.keyframes_only", chooser(func(reflect.Value, *Config) string { return "" })},
		rule{"sampling.scene_threshold", func(v reflect.Value, _ *Config) string {
			if x := v.Float(); !(x >= 0 && x <= 1) {
				return fmt.Sprintf("must be 0–1 (0 = off), got %v", x)
			}
			return ""
		}},
		rule{"sampling.dedup.distance", func(v reflect.Value, c *Config) string {
			if v.IsNil() {
				return ""
			}
			return between(0, 63)(v.Elem(), c)
		}},
	)
}

// rate is a frame rate: 0 (off) or a positive number of frames a second.
func rate(v reflect.Value, _ *Config) string {
	if x := v.Float(); math.IsNaN(x) || x < 0 || x > 1000 {
		return fmt.Sprintf("must be a rate in frames per second, 0 (off) to 1000, got %v", x)
	}
	return ""
}

// isSet tells whether a chooser key is given.
func isSet(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice:
		return v.Len() > 0
	case reflect.String:
		return v.String() != ""
	}
	return !v.IsZero()
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}

// chooser checks a frame-choosing key's value, and that no key before it in
// choosers is set too.
func chooser(check func(reflect.Value, *Config) string) func(reflect.Value, *Config) string {
	return func(v reflect.Value, c *Config) string {
		if !isSet(v) {
			return ""
		}
		if msg := check(v, c); msg != "" {
			return msg
		}
		for _, k := range choosers {
			if sameField(c, k, v) {
				break // only the keys before this one
			}
			if o := field(c, k); isSet(o) {
				return fmt.Sprintf("%s cannot be used with %s (%s): choose frames one way, one of %s", show(v), k, show(o),
					strings.Join(shortNames(choosers), ", "))
			}
		}
		return ""
	}
}

// sameField tells whether v is the field at key k (not merely an equal value).
func sameField(c *Config, k string, v reflect.Value) bool {
	f := field(c, k)
	return f.CanAddr() && v.CanAddr() && f.Addr().Pointer() == v.Addr().Pointer()
}

func shortNames(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimPrefix(k, "sampling.")
	}
	return out
}
