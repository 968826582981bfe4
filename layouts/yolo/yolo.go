// Package yolo is the Ultralytics YOLO layout, written once against
// store.Store (the tree of layouts/internal/splittree):
//
//	images/<split>/<dataset path>/<video>/<image name>
//	labels/<split>/<dataset path>/<video>/<image stem>.txt   (formats/yolo; empty: no labels)
//	data.yaml                                                (path, one key per split, names, kpt_shape)
//	.vpipe/meta.json, .vpipe/yolo.json, custom data          (vpipe's bookkeeping)
//
// Ultralytics finds an image's label by replacing the last /images/ of its
// path with /labels/ and its extension with .txt, so no split, dataset or
// video may be named "images", and every image name needs an extension.
// A label file goes before its image, so a listed image always has its
// label. data.yaml is merged with the store's Update: at Begin (names from
// the merged meta) and before this sink's first image of each split (the
// split's key), each time from the stored meta and the splits already
// listed, so shards and workers end with one file. .vpipe/yolo.json records
// the task, and a run asking another task of the same output is refused.
package yolo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/formats"
	yolofmt "github.com/vpipe/vpipe/formats/yolo"
	"github.com/vpipe/vpipe/layouts/internal/splittree"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

// Keys the layout writes besides images and labels.
const (
	DataYAML = "data.yaml"
	TaskKey  = splittree.Hidden + "yolo.json"
)

var _ core.Sink = (*Sink)(nil)

// Options are the layout's settings.
type Options struct {
	// Split names a video's split (nil: all "train"); see splittree.Options.
	Split func(dataset []string, video string) string
	// Task is detect (""), segment or pose.
	Task yolofmt.Task
	// OnSkip is told, once per class and geometry, of labels the task cannot
	// express (see splittree.Options).
	OnSkip func(class, geometry, why string)
}

// Sink is the YOLO layout on a store.
type Sink struct {
	*splittree.Layout
	st   store.Store
	task yolofmt.Task
	conv *yolofmt.Converter
}

// New lays a YOLO dataset out in st.
func New(st store.Store, o Options) (*Sink, error) {
	task, err := yolofmt.ParseTask(string(o.Task))
	if err != nil {
		return nil, err
	}
	s := &Sink{st: st, task: task}
	s.Layout = splittree.New(st, splittree.Options{Split: o.Split, OnSkip: o.OnSkip}, splittree.Format{
		Name:      "YOLO " + string(task),
		Companion: labelKey,
		Render:    s.render,
		Check:     s.checkTask,
		Begun:     s.begun,
		SplitUsed: func(ctx context.Context, split string) error { return s.updateYAML(ctx, split) },
		Reserved:  []string{"images"},
	})
	return s, nil
}

func labelKey(split string, dataset []string, name string) (string, error) {
	n, err := yolofmt.LabelName(name)
	if err != nil {
		return "", err
	}
	return "labels/" + split + "/" + strings.Join(dataset, "/") + "/" + n, nil
}

func (s *Sink) render(img *core.Image, _ string, ann *sv.ImageAnnotation) ([]byte, formats.Skips, error) {
	if s.conv == nil {
		return nil, nil, fmt.Errorf("put before Begin")
	}
	return s.conv.Labels(ann)
}

// taskFile is what the label files already written were made for: the
// task, and for pose the keypoints a line has (data.yaml's kpt_shape), which
// the largest graph class decides and a later meta could change.
type taskFile struct {
	Task     yolofmt.Task `json:"task"`
	KptShape []int        `json:"kpt_shape,omitempty"`
}

// want is the task file of a run whose merged meta is meta.
func (s *Sink) want(meta *sv.ProjectMeta) (taskFile, error) {
	conv, err := yolofmt.NewConverter(meta, s.task)
	if err != nil {
		return taskFile{}, err
	}
	return taskFile{Task: s.task, KptShape: conv.KptShape()}, nil
}

// checkTask refuses an output whose labels were written for another task,
// or, for pose, with another kpt_shape, given the run's merged meta.
func (s *Sink) checkTask(ctx context.Context, merged *sv.ProjectMeta) error {
	var have taskFile
	found, err := s.GetJSON(ctx, TaskKey, &have)
	if err != nil || !found {
		return err
	}
	want, err := s.want(merged)
	if err != nil {
		return err
	}
	return s.compare(have, want)
}

func (s *Sink) compare(have, want taskFile) error {
	if have.Task != want.Task {
		return fmt.Errorf("%s: its labels are for the YOLO task %s, this run writes %s; write to another %s",
			s.st.Name(TaskKey), have.Task, want.Task, s.st.Features().Key)
	}
	if !slices.Equal(have.KptShape, want.KptShape) {
		return fmt.Errorf("%s: its pose labels have kpt_shape %s, this run's graph classes make it %s (the most nodes "+
			"of any graph class): old label lines would not match data.yaml; write to another %s",
			s.st.Name(TaskKey), shape(have.KptShape), shape(want.KptShape), s.st.Features().Key)
	}
	return nil
}

// shape writes a kpt_shape as data.yaml does ("none" without graph classes).
func shape(k []int) string {
	if k == nil {
		return "none"
	}
	return fmt.Sprintf("[%d, %d]", k[0], k[1])
}

// begun records the task, prepares the converter and merges data.yaml.
func (s *Sink) begun(ctx context.Context, meta *sv.ProjectMeta) error {
	conv, err := yolofmt.NewConverter(meta, s.task)
	if err != nil {
		return err
	}
	s.conv = conv
	tf := taskFile{Task: s.task, KptShape: conv.KptShape()}
	want, _ := json.Marshal(tf)
	want = append(want, '\n')
	err = s.st.Update(ctx, TaskKey, func(old []byte, exists bool) ([]byte, error) {
		if !exists {
			return want, nil
		}
		var have taskFile
		if err := json.Unmarshal(old, &have); err != nil {
			return nil, fmt.Errorf("%s: %w", s.st.Name(TaskKey), err)
		}
		return nil, s.compare(have, tf)
	})
	if err != nil {
		return err
	}
	return s.updateYAML(ctx, "")
}

// updateYAML rewrites data.yaml from the stored meta and the splits it lists,
// plus split ("" for none). The meta is read inside the update, so the
// writer whose update comes last has every writer's classes.
func (s *Sink) updateYAML(ctx context.Context, split string) error {
	return s.st.Update(ctx, DataYAML, func(old []byte, exists bool) ([]byte, error) {
		var splits []string
		if exists {
			have, err := yolofmt.Splits(old)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.st.Name(DataYAML), err)
			}
			splits = have
		}
		if split != "" && !slices.Contains(splits, split) {
			splits = append(splits, split)
			sort.Strings(splits)
		}
		meta, err := s.Meta(ctx)
		if err != nil {
			return nil, err
		}
		b, err := yolofmt.DataYAML(meta, s.task, splits)
		if err != nil || (exists && string(b) == string(old)) {
			return nil, err
		}
		return b, nil
	})
}
