package supervisely_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/internal/testenv/svtest"
	"github.com/vpipe/vpipe/sinks/sinktest"
	svsink "github.com/vpipe/vpipe/sinks/supervisely"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/api"
)

// The platform sink passes the sink suite's cases that apply to a service:
// it never replaces or deletes an image (the reference gives no call for
// either), a name is a title rather than a path, and an annotation is not a
// separate object one could lose. The tree the suite reads is the fake
// server's state in the project layout's shape (svTree).
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Target {
		srv := svtest.New(token, 4)
		t.Cleanup(srv.Close)
		cl, err := api.New(api.Options{Server: srv.URL(), Token: token, Retries: 2, RetrySleep: time.Millisecond, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		proj := srv.AddProject(1, "out", "images", nil)
		lay := sinktest.ProjectLayout()
		lay.ProjectData = "" // the sink keeps its own provenance on the project (created_by, the source's id and name)
		lay.Check = checkOnServer
		return &sinktest.Target{
			// A new sink each time (a re-run), into one given project: the
			// suite's Begins give other provenance, which would each find or
			// make their own project (shard_test.go races that).
			Open:     func(*testing.T) core.Sink { return &svsink.Sink{C: cl, ProjectID: proj.ID} },
			Tree:     func(t *testing.T) map[string][]byte { return svTree(t, srv) },
			NoFaults: "the platform sink rolls nothing back: its failures are the fault cases of faults_test.go",
			Layout:   lay,
			Cannot: map[sinktest.Ability]string{
				sinktest.Overwrite: "an image title is registered once; a re-run skips what is there",
				sinktest.Delete:    "the API gives no call to remove images: a failed video keeps what it registered and a re-run completes it",
				sinktest.PathNames: "dataset and image names are titles on the server, not paths: none can leave the project",
				sinktest.Repair:    "an image's annotation and meta are the image's, not separate objects lost by hand",
				sinktest.ConcurrentMerge: "projects.meta.update is not conditional: shards merge the same meta, " +
					"but writers merging different classes at one instant can lose one's (docs/failures-and-safety.md)",
			},
		}
	})
}

// svTree is the server's one project in the project layout's shape:
// meta.json, each dataset's custom_data.json (when it has custom data), and
// each image's img/ (its bytes), ann/ (the annotation the server holds: the
// empty one of a new image when none was sent) and meta/ objects. Nested
// datasets go under <parent>/datasets/.
func svTree(t *testing.T, srv *svtest.Server) map[string][]byte {
	t.Helper()
	tree := map[string][]byte{}
	ps := srv.Projects()
	if len(ps) == 0 {
		return tree
	}
	if len(ps) > 1 {
		t.Fatalf("%d projects on the server, want the one the sinks share", len(ps))
	}
	tree["meta.json"] = ps[0].Meta
	dss := srv.Datasets(ps[0].ID)
	byID := map[int64]svtest.Dataset{}
	for _, d := range dss {
		byID[d.ID] = d
	}
	dir := func(d svtest.Dataset) string {
		path := []string{d.Name}
		for p := d.ParentID; p != nil; p = byID[*p].ParentID {
			path = append([]string{byID[*p].Name}, path...)
		}
		return strings.Join(path, "/datasets/")
	}
	for _, d := range dss {
		dd := dir(d)
		if len(d.CustomData) > 0 {
			tree[dd+"/custom_data.json"] = mustJSON(t, d.CustomData)
		}
		for _, im := range srv.Images(d.ID) {
			tree[dd+"/img/"+im.Title] = srv.Blob(im.Hash)
			ann := im.Ann
			if ann == nil {
				ann = json.RawMessage(`{"tags":[],"objects":[]}`)
			}
			tree[dd+"/ann/"+im.Title+".json"] = ann
			tree[dd+"/meta/"+im.Title+".json"] = mustJSON(t, im.Meta)
		}
	}
	return tree
}

// checkOnServer: the image's bytes and meta are the server's; its
// annotation is the one sent (in subpixel form), or, when it has no label
// and no tag, none was sent (a new image already has it).
func checkOnServer(t *testing.T, tree map[string][]byte, img *core.Image) {
	t.Helper()
	dir := strings.Join(img.Dataset, "/datasets/")
	if got := tree[dir+"/img/"+img.Name]; !bytes.Equal(got, img.Data) {
		t.Errorf("%s/img/%s: %d bytes on the server, want %d", dir, img.Name, len(got), len(img.Data))
	}
	var meta any
	if err := json.Unmarshal(tree[dir+"/meta/"+img.Name+".json"], &meta); err != nil || !sinktest.JSONEqual(meta, img.Meta) {
		t.Errorf("meta of %s: %v (%v), want %v", img.Name, meta, err, img.Meta)
	}
	var got, want any
	json.Unmarshal(tree[dir+"/ann/"+img.Name+".json"], &got)
	var a struct{ Objects, Tags []json.RawMessage }
	json.Unmarshal(img.Ann, &a)
	if len(a.Objects) == 0 && len(a.Tags) == 0 {
		want = map[string]any{"tags": []any{}, "objects": []any{}}
	} else {
		sub, err := sv.ToSubpixel(img.Ann)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(sub, &want)
	}
	if !sinktest.JSONEqual(got, want) {
		t.Errorf("annotation of %s on the server: %v, want %v", img.Name, got, want)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
