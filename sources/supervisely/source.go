// Package supervisely is the source that reads a video project from a
// Supervisely server: its datasets (nested through parentId), their videos and
// server-form annotations. Video bytes are streamed with Range requests from
// fullStorageUrl rewritten to the configured server, or, with download: file,
// fetched through videos.download into a temporary file removed on every path.
package supervisely

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vpipe/vpipe/core"
	"github.com/vpipe/vpipe/media"
	"github.com/vpipe/vpipe/metrics"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/api"
)

// Source reads one video project.
type Source struct {
	C          *api.Client
	ProjectID  int64
	DatasetIDs []int64 // the whitelist (§7); empty = every dataset
	// Download "file" fetches whole files with videos.download; else streams.
	Download    string
	ReadTimeout time.Duration
	TempDir     string // for download: file ("" = the system's)

	once sync.Once
	info *api.ProjectInfo
	meta *sv.ProjectMeta
	err  error
}

// Describe names the source.
func (s *Source) Describe() string {
	return fmt.Sprintf("supervisely %s project %d", s.C.Server(), s.ProjectID)
}

func (s *Source) load(ctx context.Context) error {
	s.once.Do(func() {
		s.info, s.err = s.C.ProjectInfo(ctx, s.ProjectID)
		if s.err != nil {
			return
		}
		if s.info.Type != "" && s.info.Type != "videos" {
			s.err = fmt.Errorf("supervisely project %d (%s) is a %s project, not a videos project", s.ProjectID, s.info.Name, s.info.Type)
			return
		}
		raw, err := s.C.ProjectMeta(ctx, s.ProjectID)
		if err != nil {
			s.err = err
			return
		}
		var m sv.ProjectMeta
		if err := m.UnmarshalJSON(raw); err != nil {
			s.err = fmt.Errorf("projects.meta of project %d: %w", s.ProjectID, err)
			return
		}
		s.meta = &m
	})
	return s.err
}

// Info is the source project's info (for the sink: its name and workspace).
func (s *Source) Info(ctx context.Context) (*api.ProjectInfo, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s.info, nil
}

// Project reads the project meta.
func (s *Source) Project(ctx context.Context) (*core.Project, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return &core.Project{Meta: s.meta, Provenance: s.provenance()}, nil
}

func (s *Source) provenance() map[string]any {
	return map[string]any{"is_sample": true, "video_project_id": s.info.ID, "video_project_name": s.info.Name}
}

type node struct {
	ds       api.DatasetInfo
	children []*node
}

// Items walks the datasets depth first (each dataset's videos, then its
// children, by id), keeping those the whitelist selects.
func (s *Source) Items(ctx context.Context, emit func(*core.Item) error) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	all, err := s.C.Datasets(ctx, s.ProjectID)
	if err != nil {
		return err
	}
	nodes, roots := datasetTree(all)
	listed, err := s.whitelist(nodes)
	if err != nil {
		return err
	}
	w := &walker{s: s, emit: emit, listed: listed}
	for _, r := range roots {
		if err := w.walk(ctx, r, nil, nil); err != nil {
			return err
		}
	}
	if w.found == 0 {
		return fmt.Errorf("supervisely project %d (%s): no videos to sample", s.ProjectID, s.info.Name)
	}
	return nil
}

// datasetTree links the datasets through parentId: a dataset whose parent is
// not in the project is a root. The roots are sorted by id.
func datasetTree(all []api.DatasetInfo) (map[int64]*node, []*node) {
	nodes := map[int64]*node{}
	for _, d := range all {
		nodes[d.ID] = &node{ds: d}
	}
	var roots []*node
	for _, d := range all {
		n := nodes[d.ID]
		if d.ParentID == nil || nodes[*d.ParentID] == nil {
			roots = append(roots, n)
		} else {
			p := nodes[*d.ParentID]
			p.children = append(p.children, n)
		}
	}
	byID(roots)
	return nodes, roots
}

func byID(ns []*node) {
	sort.Slice(ns, func(i, j int) bool { return ns[i].ds.ID < ns[j].ds.ID })
}

// whitelist is the set of source.dataset_ids, each of which must be in the project.
func (s *Source) whitelist(nodes map[int64]*node) (map[int64]bool, error) {
	listed := map[int64]bool{}
	for _, id := range s.DatasetIDs {
		listed[id] = true
		if nodes[id] == nil {
			return nil, fmt.Errorf("source.dataset_ids: dataset %d is not in project %d (%s)", id, s.ProjectID, s.info.Name)
		}
	}
	return listed, nil
}

// hasListed tells whether n or one of its descendants is whitelisted.
func hasListed(n *node, listed map[int64]bool) bool {
	if listed[n.ds.ID] {
		return true
	}
	for _, c := range n.children {
		if hasListed(c, listed) {
			return true
		}
	}
	return false
}

// walker emits the videos of a dataset tree, counting them.
type walker struct {
	s      *Source
	emit   func(*core.Item) error
	listed map[int64]bool // the whitelist; empty = every dataset
	found  int
}

// walk emits n's videos (when the whitelist selects it), then its children's,
// by id. path and anc are n's parent's.
func (w *walker) walk(ctx context.Context, n *node, path []string, anc []core.DatasetInfo) error {
	if len(w.listed) > 0 && !hasListed(n, w.listed) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	path = append(append([]string{}, path...), n.ds.Name)
	prov := w.s.provenance()
	prov["video_dataset_id"] = n.ds.ID
	prov["video_dataset_name"] = n.ds.Name
	if len(w.listed) == 0 || w.listed[n.ds.ID] {
		if err := w.videos(ctx, n, path, prov, anc); err != nil {
			return err
		}
	}
	byID(n.children)
	anc = append(append([]core.DatasetInfo{}, anc...), core.DatasetInfo{Dataset: path, Custom: prov})
	for _, c := range n.children {
		if err := w.walk(ctx, c, path, anc); err != nil {
			return err
		}
	}
	return nil
}

// videos emits the videos of dataset n.
func (w *walker) videos(ctx context.Context, n *node, path []string, prov map[string]any, anc []core.DatasetInfo) error {
	videos, err := w.s.C.Videos(ctx, n.ds.ID)
	if err != nil {
		return fmt.Errorf("dataset %d (%s): %w", n.ds.ID, strings.Join(path, "/"), err)
	}
	for _, v := range videos {
		w.found++
		if err := w.emit(w.s.item(v, n.ds, path, prov, anc)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) item(v api.VideoInfo, ds api.DatasetInfo, path []string, dsProv map[string]any, anc []core.DatasetInfo) *core.Item {
	prov := map[string]any{}
	for k, x := range dsProv {
		prov[k] = x
	}
	prov["video_id"] = v.ID
	prov["video_name"] = v.Name
	name := fmt.Sprintf("supervisely video %d (%s)", v.ID, v.Name)
	return &core.Item{
		Name:           v.Name,
		Dataset:        path,
		Open:           name,
		AnnotationPath: fmt.Sprintf("videos.annotations.bulk.info of video %d (%s)", v.ID, v.Name),
		LoadAnnotation: func(ctx context.Context) (*sv.VideoAnnotation, error) {
			raw, err := s.C.VideoAnnotation(ctx, ds.ID, v.ID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			ann, err := sv.ParseVideoAnnotation(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: annotation: %w", name, err)
			}
			return ann, nil
		},
		Fetch: func(ctx context.Context) (*core.Input, error) {
			if s.Download == "file" {
				return s.download(ctx, v.ID, name)
			}
			return s.stream(ctx, v.ID, name)
		},
		Provenance: prov,
		Ancestors:  anc,
	}
}

// stream opens the video for reading with Range requests on the API server.
func (s *Source) stream(ctx context.Context, id int64, name string) (*core.Input, error) {
	info, err := s.C.VideoInfo(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	st, err := s.C.OpenStream(ctx, info.FullStorageURL, name, info.SizeBytes(), s.ReadTimeout)
	if err != nil {
		return nil, err
	}
	return &core.Input{Open: name, Options: media.OpenOptions{Input: st}, Size: st.Size(), Fetched: st.Fetched,
		Release: func() { st.Close() }}, nil
}

// download fetches the whole video into a temporary file.
func (s *Source) download(ctx context.Context, id int64, name string) (*core.Input, error) {
	f, err := os.CreateTemp(s.TempDir, "vpipe-video-*")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	var once sync.Once
	release := func() { once.Do(func() { os.Remove(path) }) }
	// Ctrl-C: the context ends, the decode stage returns and releases; a copy
	// still running is cut by the same context.
	n, err := s.C.DownloadVideo(ctx, id, core.ProgressWriter(ctx, f))
	metrics.SourceBytes(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rf, err := os.Open(path)
	if err != nil {
		release()
		return nil, err
	}
	// Read through an Input so that errors name the video, not the temporary file.
	in := &fileInput{File: rf, size: n}
	return &core.Input{Open: name, Options: media.OpenOptions{Input: in}, Size: n, Fetched: func() int64 { return n },
		Release: func() { rf.Close(); release() }}, nil
}

// fileInput is a downloaded video as a media.Input.
type fileInput struct {
	*os.File
	size int64
}

func (f *fileInput) Size() int64 { return f.size }

// TempFiles lists what download: file left in dir (for tests: nothing, ever).
func TempFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "vpipe-video-*"))
	return m
}
