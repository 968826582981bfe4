package svtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vpipe/vpipe/media"
)

// SeedLocal uploads a Supervisely video project from disk (§8.2) as the server
// holds it: datasets nested through parentId, videos with their size and frame
// count, annotations in server form (objects and figures with ids, figures
// pointing at objectId; object ids from key_id_map.json where it has them,
// else their 1-based position).
// extra adds copies of a video under other names in the same dataset
// ("ds0/clip.mp4" → ["a.mp4", ...]), to make lists longer than a page.
func (s *Server) SeedLocal(dir string, workspace int64, extra map[string][]string) (*Project, error) {
	meta, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(meta, &m); err != nil {
		return nil, err
	}
	m["projectType"] = "videos"
	meta, _ = json.Marshal(m)
	meta, err = s.assignMetaIDsLocked(meta)
	if err != nil {
		return nil, err
	}
	p := s.AddProject(workspace, filepath.Base(filepath.Clean(dir)), "videos", meta)
	var keys struct {
		Objects map[string]*int64 `json:"objects"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "key_id_map.json")); err == nil {
		json.Unmarshal(b, &keys)
	}
	var walk func(d string, parent *int64, rel string) error
	walk = func(d string, parent *int64, rel string) error {
		ds := s.AddDataset(p.ID, parent, filepath.Base(d))
		videos, _ := os.ReadDir(filepath.Join(d, "video"))
		for _, v := range videos {
			data, err := os.ReadFile(filepath.Join(d, "video", v.Name()))
			if err != nil {
				return err
			}
			ann, err := os.ReadFile(filepath.Join(d, "ann", v.Name()+".json"))
			if err != nil {
				return err
			}
			server, err := s.serverForm(ann, keys.Objects)
			if err != nil {
				return fmt.Errorf("%s: %w", v.Name(), err)
			}
			frames, w, h, err := probe(filepath.Join(d, "video", v.Name()))
			if err != nil {
				return err
			}
			for _, name := range append([]string{v.Name()}, extra[rel+"/"+v.Name()]...) {
				s.AddVideo(ds.ID, name, data, frames, w, h, server)
			}
		}
		children, _ := os.ReadDir(filepath.Join(d, "datasets"))
		sort.Slice(children, func(i, j int) bool { return children[i].Name() < children[j].Name() })
		for _, c := range children {
			if c.IsDir() {
				if err := walk(filepath.Join(d, "datasets", c.Name()), &ds.ID, rel+"/"+c.Name()); err != nil {
					return err
				}
			}
		}
		return nil
	}
	top, _ := os.ReadDir(dir)
	for _, e := range top {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if err := walk(filepath.Join(dir, e.Name()), nil, e.Name()); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func (s *Server) assignMetaIDsLocked(meta []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assignMetaIDs(meta)
}

// serverForm turns a local-form video annotation into the server's.
func (s *Server) serverForm(local []byte, objIDs map[string]*int64) (json.RawMessage, error) {
	var a map[string]any
	if err := json.Unmarshal(local, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(a, "key")
	dropKeys := func(tags any) {
		list, _ := tags.([]any)
		for _, t := range list {
			if m, ok := t.(map[string]any); ok {
				delete(m, "key")
				m["id"] = s.id()
			}
		}
	}
	dropKeys(a["tags"])
	ids := map[string]int64{}
	objs, _ := a["objects"].([]any)
	for i, o := range objs {
		m := o.(map[string]any)
		k, _ := m["key"].(string)
		// An object the map gives no id gets its 1-based position, the object_id
		// vpipe gives it on disk, so both forms of the fixture sample alike
		// (server ids here start above 100).
		id := int64(i + 1)
		if v := objIDs[k]; v != nil {
			id = *v
		}
		ids[k] = id
		delete(m, "key")
		m["id"] = id
		dropKeys(m["tags"])
	}
	frames, _ := a["frames"].([]any)
	for _, f := range frames {
		figs, _ := f.(map[string]any)["figures"].([]any)
		for _, g := range figs {
			m := g.(map[string]any)
			k, _ := m["objectKey"].(string)
			id, ok := ids[k]
			if !ok {
				return nil, fmt.Errorf("figure of unknown object %s", k)
			}
			delete(m, "objectKey")
			delete(m, "key")
			m["objectId"] = id
			m["id"] = s.id()
		}
	}
	return json.Marshal(a)
}

func probe(path string) (frames, w, h int, err error) {
	v, err := media.Open(path, media.OpenOptions{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer v.Close()
	x, err := v.Scan(0)
	if err != nil {
		return 0, 0, 0, err
	}
	w, h = v.Info.DisplaySize()
	return x.Count, w, h, nil
}

// AddVideoFile seeds a video from a file.
func (s *Server) AddVideoFile(dataset int64, path string) (*Video, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	frames, w, h, err := probe(path)
	if err != nil {
		return nil, err
	}
	ann := fmt.Sprintf(`{"description":"","size":{"height":%d,"width":%d},"framesCount":%d,"tags":[],"objects":[],"frames":[]}`, h, w, frames)
	return s.AddVideo(dataset, filepath.Base(path), data, frames, w, h, json.RawMessage(ann)), nil
}
