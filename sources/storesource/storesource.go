// Package storesource makes a store a source of videos: under the store's
// root either a plain tree of videos (sub-folders become datasets, videos
// directly under the root go to ds0) or a Supervisely video project
// (meta.json, <dataset>/video/, <dataset>/ann/, nested
// <dataset>/datasets/<child>, optional key_id_map.json and video_info/), read
// exactly as sources/local reads a folder. A store whose spec says it is a
// source (stores/s3) is one through this package (registry.SetStoreSource).
//
// Videos are never downloaded whole: each item reads its object with the
// store's ranged reads (store/rangeread), resumed where a body was cut.
package storesource

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/registry"
	"github.com/vpipe/vpipe/sources/local"
	"github.com/vpipe/vpipe/store"
	sv "github.com/vpipe/vpipe/supervisely"
)

func init() {
	registry.SetStoreSource(func(_ context.Context, st store.Store, _ any, _ registry.Deps) (core.Source, error) {
		return New(st), nil
	})
}

// reserved are the folder names of a video project that are never datasets (§8.2).
var reserved = map[string]bool{"video": true, "ann": true, "video_info": true, "metadata": true,
	"meta": true, "datasets": true, "blob": true}

// Source reads the videos of a store.
type Source struct {
	st store.Store

	once  sync.Once
	keys  []string // relative to the prefix, sorted
	have  map[string]bool
	sizes map[string]int64
	err   error
}

// New reads the videos of st. Nothing is read yet.
func New(st store.Store) *Source { return &Source{st: st} }

// Describe names the source.
func (s *Source) Describe() string { return s.st.Describe() }

// root names the store's root in messages: "s3://bucket/prefix", a folder.
func (s *Source) root() string { return strings.TrimSuffix(s.st.Name(""), "/") }

// list reads the whole listing once (every page).
func (s *Source) list(ctx context.Context) error {
	s.once.Do(func() {
		s.have, s.sizes = map[string]bool{}, map[string]int64{}
		s.err = s.st.List(ctx, "", func(rel string, size int64) error {
			if rel == "" || strings.HasSuffix(rel, "/") {
				return nil // folder markers
			}
			s.keys = append(s.keys, rel)
			s.have[rel] = true
			s.sizes[rel] = size
			return nil
		})
		sort.Slice(s.keys, func(i, j int) bool { return walkOrder(s.keys[i], s.keys[j]) })
	})
	return s.err
}

// walkOrder orders keys as a walk of folders does, one level at a time, each
// by name (as sources/local walks a folder): "b/c.mp4" comes before
// "b-1.mp4", though '-' sorts before '/' byte by byte.
func walkOrder(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

func (s *Source) isProject() bool { return s.have["meta.json"] }

// hidden tells a key with a segment starting with "." (skipped, as locally).
func hidden(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

func isVideo(name string) bool { return local.VideoExts[strings.ToLower(path.Ext(name))] }

// Project reads meta.json and key_id_map.json of a Supervisely project; a
// plain tree of videos has none.
func (s *Source) Project(ctx context.Context) (*core.Project, error) {
	if err := s.list(ctx); err != nil {
		return nil, err
	}
	if !s.isProject() {
		return &core.Project{Provenance: map[string]any{"is_sample": true}}, nil
	}
	// the project is named by the root's last segment (a prefix's, or the bucket's)
	name := path.Base(strings.ReplaceAll(s.root(), "\\", "/"))
	p := &core.Project{Provenance: map[string]any{"is_sample": true, "video_project_id": nil, "video_project_name": name}}
	b, found, err := s.st.Get(ctx, "meta.json")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: gone since it was listed", s.st.Name("meta.json"))
	}
	var meta sv.ProjectMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", s.st.Name("meta.json"), err)
	}
	p.Meta = &meta
	if s.have["key_id_map.json"] {
		b, _, err := s.st.Get(ctx, "key_id_map.json")
		if err != nil {
			return nil, err
		}
		keys, err := sv.ParseKeyIdMap(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.st.Name("key_id_map.json"), err)
		}
		p.Keys = keys
	}
	return p, nil
}

// Items lists videos in key order.
func (s *Source) Items(ctx context.Context, emit func(*core.Item) error) error {
	if err := s.list(ctx); err != nil {
		return err
	}
	if s.isProject() {
		return s.projectItems(ctx, emit)
	}
	found := 0
	for _, rel := range s.keys {
		if hidden(rel) || !isVideo(rel) {
			continue
		}
		ds := []string{local.RootDataset}
		if d := path.Dir(rel); d != "." {
			ds = strings.Split(d, "/")
		}
		name := path.Base(rel)
		it, err := s.item(ctx, rel, name, ds)
		if err != nil {
			return err
		}
		it.Provenance = map[string]any{"is_sample": true, "video_dataset_name": ds[len(ds)-1], "video_name": name}
		found++
		if err := emit(it); err != nil {
			return err
		}
	}
	if found == 0 {
		exts := make([]string, 0, len(local.VideoExts))
		for e := range local.VideoExts {
			exts = append(exts, e)
		}
		sort.Strings(exts)
		return fmt.Errorf("%s: no videos found (looked for %s)", s.root(), strings.Join(exts, " "))
	}
	return nil
}

// item makes the item of the video at rel, read with the store's ranged reads.
func (s *Source) item(_ context.Context, rel, name string, ds []string) (*core.Item, error) {
	where, size := s.st.Name(rel), s.sizes[rel]
	if size <= 0 {
		return nil, fmt.Errorf("%s: empty object", where)
	}
	return &core.Item{Name: name, Dataset: ds, Open: where,
		Fetch: func(ctx context.Context) (*core.Input, error) {
			r := newObjectReader(ctx, s.st, rel, size)
			return &core.Input{Open: where, Options: media.OpenOptions{Input: r}, Size: size,
				Fetched: r.Fetched, Release: r.Close}, nil
		}}, nil
}

// entries lists the files and sub-folders directly under dir ("" = the prefix).
func (s *Source) entries(dir string) (files, dirs []string) {
	p := ""
	if dir != "" {
		p = dir + "/"
	}
	// The keys are in walk order, so the search is too: the keys under p
	// follow one another from the first one not before p.
	i := sort.Search(len(s.keys), func(i int) bool { return !walkOrder(s.keys[i], p) })
	seen := map[string]bool{}
	for ; i < len(s.keys) && strings.HasPrefix(s.keys[i], p); i++ {
		rest := strings.TrimPrefix(s.keys[i], p)
		if strings.HasPrefix(rest, ".") {
			continue
		}
		if d, _, ok := strings.Cut(rest, "/"); ok {
			if !seen[d] && !strings.HasPrefix(d, ".") {
				seen[d] = true
				dirs = append(dirs, d)
			}
			continue
		}
		files = append(files, rest)
	}
	return files, dirs
}

// projectItems walks the datasets of a Supervisely video project, nested at
// any depth, in lexical order.
func (s *Source) projectItems(ctx context.Context, emit func(*core.Item) error) error {
	proj, err := s.Project(ctx)
	if err != nil {
		return err
	}
	found := 0
	var walk func(dir string, ds []string) error
	walk = func(dir string, ds []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		videos, _ := s.entries(dir + "/video")
		for _, name := range videos {
			if !isVideo(name) {
				continue
			}
			it, err := s.projectItem(ctx, proj, dir, ds, name)
			if err != nil {
				return err
			}
			found++
			if err := emit(it); err != nil {
				return err
			}
		}
		_, children := s.entries(dir + "/datasets")
		for _, c := range children {
			if err := walk(dir+"/datasets/"+c, append(append([]string{}, ds...), c)); err != nil {
				return err
			}
		}
		return nil
	}
	_, top := s.entries("")
	for _, d := range top {
		if reserved[d] {
			continue
		}
		if err := walk(d, []string{d}); err != nil {
			return err
		}
	}
	if found == 0 {
		return fmt.Errorf("%s: the project has no videos (looked in <dataset>/video/)", s.root())
	}
	return nil
}

func (s *Source) projectItem(ctx context.Context, proj *core.Project, dir string, ds []string, name string) (*core.Item, error) {
	annRel := dir + "/ann/" + name + ".json"
	if alt := dir + "/ann/" + strings.TrimSuffix(name, path.Ext(name)) + ".json"; !s.have[annRel] && s.have[alt] {
		annRel = alt
	}
	var info []byte
	ir := dir + "/video_info/" + name + ".json"
	if s.have[ir] {
		b, _, err := s.st.Get(ctx, ir)
		if err != nil {
			return nil, err
		}
		info = b
	}
	prov, err := local.VideoProvenance(proj.Provenance, ds, name, info, s.st.Name(ir))
	if err != nil {
		return nil, err
	}
	it, err := s.item(ctx, dir+"/video/"+name, name, ds)
	if err != nil {
		return nil, err
	}
	it.AnnotationPath = s.st.Name(annRel)
	it.LoadAnnotation = func(ctx context.Context) (*sv.VideoAnnotation, error) {
		b, found, err := s.st.Get(ctx, annRel)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%s: %w", it.AnnotationPath, core.ErrNoAnnotation)
		}
		ann, err := sv.ParseVideoAnnotation(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.AnnotationPath, err)
		}
		return ann, nil
	}
	it.Provenance = prov
	return it, nil
}
