package storesink

import (
	"encoding/json"
	"testing"

	_ "github.com/vpipe/vpipe/layouts/coco"    // format coco
	_ "github.com/vpipe/vpipe/layouts/project" // the default format
	_ "github.com/vpipe/vpipe/layouts/yolo"    // format yolo
	sv "github.com/vpipe/vpipe/supervisely"
)

func sinktestMeta(t *testing.T) *sv.ProjectMeta {
	var m sv.ProjectMeta
	if err := json.Unmarshal([]byte(`{"classes":[{"title":"ours","shape":"polygon","color":"#00FF00","geometry_config":{}}],"tags":[]}`), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}
