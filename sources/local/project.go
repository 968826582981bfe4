package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vpipe/vpipe/core"
	sv "github.com/vpipe/vpipe/supervisely"
)

// reservedVideo are the folder names of a video project that are never datasets (§8.2).
var reservedVideo = map[string]bool{"video": true, "ann": true, "video_info": true, "metadata": true,
	"meta": true, "datasets": true, "blob": true}

// isProject tells whether dir is a Supervisely project (it has meta.json).
func isProject(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "meta.json"))
	return err == nil && st.Mode().IsRegular()
}

// loadProject reads meta.json and the optional key_id_map.json.
func (s *Source) loadProject() (*core.Project, error) {
	p := &core.Project{Provenance: map[string]any{
		"is_sample": true, "video_project_id": nil, "video_project_name": filepath.Base(filepath.Clean(s.Path)),
	}}
	mp := filepath.Join(s.Path, "meta.json")
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, err
	}
	var meta sv.ProjectMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", mp, err)
	}
	p.Meta = &meta
	kp := filepath.Join(s.Path, "key_id_map.json")
	if b, err := os.ReadFile(kp); err == nil {
		keys, err := sv.ParseKeyIdMap(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kp, err)
		}
		p.Keys = keys
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return p, nil
}

// videoInfo is the optional video_info/<video>.json (snake_case VideoInfo).
type videoInfo struct {
	ID        *int64 `json:"id"`
	DatasetID *int64 `json:"dataset_id"`
	ProjectID *int64 `json:"project_id"`
}

// projectItems walks the datasets of a Supervisely video project, nested at any
// depth under <dataset>/datasets/<child>, in lexical order.
func (s *Source) projectItems(ctx context.Context, emit func(*core.Item) error) error {
	proj, err := s.loadProject()
	if err != nil {
		return err
	}
	found := 0
	var walk func(dir string, ds []string, up []folder) error
	walk = func(dir string, ds []string, up []folder) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		videos, err := s.listFiles(filepath.Join(dir, "video"))
		if err != nil {
			return err
		}
		for _, name := range videos {
			it, err := s.projectItem(proj, dir, ds, name)
			if err != nil {
				return err
			}
			found++
			if err := emit(it); err != nil {
				return err
			}
		}
		// Loops are looked for from the project root, through <dataset>/datasets/.
		children, err := s.listDirs(filepath.Join(dir, "datasets"), up)
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := walk(c.path, append(append([]string{}, ds...), filepath.Base(c.path)), append(up, c)); err != nil {
				return err
			}
		}
		return nil
	}
	root, err := os.Stat(s.Path)
	if err != nil {
		return err
	}
	up := []folder{{s.Path, root}}
	top, err := s.listDirs(s.Path, up)
	if err != nil {
		return err
	}
	for _, d := range top {
		name := filepath.Base(d.path)
		if reservedVideo[name] {
			continue
		}
		if err := walk(d.path, []string{name}, append(up, d)); err != nil {
			return err
		}
	}
	if found == 0 {
		return fmt.Errorf("source.path %s: the project has no videos (looked in <dataset>/video/)", s.Path)
	}
	return nil
}

func (s *Source) projectItem(proj *core.Project, dir string, ds []string, name string) (*core.Item, error) {
	annPath := filepath.Join(dir, "ann", name+".json")
	if _, err := os.Stat(annPath); os.IsNotExist(err) {
		if alt := filepath.Join(dir, "ann", strings.TrimSuffix(name, filepath.Ext(name))+".json"); fileExists(alt) {
			annPath = alt
		}
	}
	var info []byte
	ip := filepath.Join(dir, "video_info", name+".json")
	if b, err := os.ReadFile(ip); err == nil {
		info = b
	}
	prov, err := VideoProvenance(proj.Provenance, ds, name, info, ip)
	if err != nil {
		return nil, err
	}
	return &core.Item{
		Name:           name,
		Dataset:        ds,
		Open:           filepath.Join(dir, "video", name),
		AnnotationPath: annPath,
		LoadAnnotation: func(context.Context) (*sv.VideoAnnotation, error) {
			b, err := os.ReadFile(annPath)
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("%s: %w", annPath, core.ErrNoAnnotation)
			}
			if err != nil {
				return nil, err
			}
			ann, err := sv.ParseVideoAnnotation(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", annPath, err)
			}
			return ann, nil
		},
		Provenance: prov,
	}, nil
}

// VideoProvenance is a project video's custom-data keys (§9): the project's,
// its dataset's name and its own, with the ids of its video_info/<video>.json
// (info, read from where; nil when it has none).
func VideoProvenance(project map[string]any, ds []string, name string, info []byte, where string) (map[string]any, error) {
	prov := map[string]any{}
	for k, v := range project {
		prov[k] = v
	}
	prov["video_dataset_id"] = nil
	prov["video_dataset_name"] = ds[len(ds)-1]
	prov["video_id"] = nil
	prov["video_name"] = name
	if info != nil {
		var vi videoInfo
		if err := json.Unmarshal(info, &vi); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		setID(prov, "video_id", vi.ID)
		setID(prov, "video_dataset_id", vi.DatasetID)
		setID(prov, "video_project_id", vi.ProjectID)
	}
	return prov, nil
}

func setID(m map[string]any, k string, v *int64) {
	if v != nil {
		m[k] = *v
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// listFiles lists the videos of a folder (none if it does not exist),
// following symlinks.
func (s *Source) listFiles(dir string) ([]string, error) {
	entries, err := s.entries(dir, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.dir == nil && VideoExts[strings.ToLower(filepath.Ext(e.name))] {
			out = append(out, e.name)
		}
	}
	return out, nil
}

// listDirs lists the sub-folders of a folder (none if it does not exist),
// following symlinks; one that is a folder of up is a loop, left out.
func (s *Source) listDirs(dir string, up []folder) ([]folder, error) {
	entries, err := s.entries(dir, up)
	if err != nil {
		return nil, err
	}
	var out []folder
	for _, e := range entries {
		if e.dir != nil {
			out = append(out, *e.dir)
		}
	}
	return out, nil
}
