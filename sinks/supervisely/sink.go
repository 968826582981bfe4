// Package supervisely is the sink that writes an image project on a Supervisely
// server the platform's way (§2.2): image bytes are checked by hash and the
// missing ones uploaded as multipart, then registered with images.bulk.add
// (title, hash, meta), then annotated with annotations.bulk.add in subpixel
// coordinates. It is a batching sink (its Features offer Batch): the
// pipeline's batch, upload and annotate stages drive it, alone or as a member
// of a fan-out.
//
// Resume and exactly-once: images already in a dataset (by title) are never
// uploaded again; a registration whose answer was lost is recovered by listing
// the dataset; an image registered without its annotation (a run interrupted
// in between) is found by its empty annotation (no labels, no tags) and
// annotated by the next run; an annotation call that may have landed is
// checked the same way before it is retried. Annotations with no labels and no
// tags are not sent: a new image already has that empty annotation.
package supervisely

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/vpipe/vpipe/core"
	sv "github.com/vpipe/vpipe/supervisely"
	"github.com/vpipe/vpipe/supervisely/api"
)

// CreatedBy marks, in a project's custom data, the projects vpipe made, so a
// re-run finds and resumes the one made from the same source.
const CreatedBy = "created_by"

// Sink writes into one image project.
type Sink struct {
	C *api.Client
	// ProjectID writes into this existing project; 0 makes (or finds) "<source>(images)".
	ProjectID int64
	// WorkspaceID is where a new project goes; 0 = the source project's workspace.
	WorkspaceID int64
	// SourceWorkspace gives the source project's workspace (nil for a local source).
	SourceWorkspace func(ctx context.Context) (int64, error)
	// SourceProject describes the source (its provenance names the project to
	// find or make) for calls made before Begin, as vpipe plan's.
	SourceProject func(ctx context.Context) (*core.Project, error)
	// Overwrite re-sends the annotations of images already there.
	Overwrite bool

	mu       sync.Mutex
	project  *api.ProjectInfo
	resolved bool                         // project looked up (read-only) or made
	children map[string][]api.DatasetInfo // parent key → its datasets
	ids      map[string]int64             // dataset path key → id
	listing  map[string][]api.ImageInfo   // last Existing listing, for Reannotate
	sizes    map[string]map[string][2]int // of the images Reannotate listed, by dataset and name
}

// Describe names the sink.
func (s *Sink) Describe() string {
	if s.ProjectID != 0 {
		return fmt.Sprintf("supervisely %s project %d", s.C.Server(), s.ProjectID)
	}
	return fmt.Sprintf("supervisely %s (new image project)", s.C.Server())
}

func key(path []string) string { return strings.Join(path, "\x00") }

// Begin finds or makes the project and merges the meta.
func (s *Sink) Begin(ctx context.Context, meta *sv.ProjectMeta, custom map[string]any) (*sv.ProjectMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.resolve(ctx, custom, true); err != nil {
		return nil, err
	}
	raw, err := s.C.ProjectMeta(ctx, s.project.ID)
	if err != nil {
		return nil, err
	}
	var have sv.ProjectMeta
	if err := have.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("projects.meta of project %d: %w", s.project.ID, err)
	}
	if meta == nil {
		return &have, nil
	}
	out, err := sv.OutputMeta(&have, meta)
	if err != nil {
		return nil, fmt.Errorf("project %d (%s): cannot merge the source project's meta: %w", s.project.ID, s.project.Name, err)
	}
	if len(out.Classes) == len(have.Classes) && len(out.Tags) == len(have.Tags) {
		return out, nil // nothing new (a conflict would have failed the merge)
	}
	// Ids of the source's classes and tags mean nothing here: the server gives its own.
	for i := range out.Classes {
		if have.Class(out.Classes[i].Title) == nil {
			out.Classes[i].ID = nil
		}
	}
	for i := range out.Tags {
		if have.TagMeta(out.Tags[i].Name) == nil {
			out.Tags[i].ID = nil
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if err := s.C.UpdateProjectMeta(ctx, s.project.ID, b); err != nil {
		return nil, err
	}
	return out, nil
}

var suffix = regexp.MustCompile(`^_\d{3}$`)

// resolve sets s.project: the given one, or the project this source was
// sampled into before, or (create) a new one with a free name.
func (s *Sink) resolve(ctx context.Context, custom map[string]any, create bool) error {
	if s.project != nil || (s.resolved && !create) {
		return nil
	}
	if s.ProjectID != 0 {
		return s.resolveGiven(ctx)
	}
	ws, err := s.workspace(ctx)
	if err != nil {
		return err
	}
	if custom == nil && s.SourceProject != nil {
		p, err := s.SourceProject(ctx)
		if err != nil {
			return err
		}
		custom = p.Provenance
	}
	base := sampleBase(custom)
	p, taken, err := s.findSample(ctx, ws, base, custom)
	s.resolved = true
	if err != nil || p != nil || !create {
		s.project = p
		return err
	}
	if p, err = s.createSample(ctx, ws, base, taken, custom); err != nil {
		return err
	}
	s.project = p
	return nil
}

// resolveGiven sets s.project to sink.project_id, which must be an images project.
func (s *Sink) resolveGiven(ctx context.Context) error {
	p, err := s.C.ProjectInfo(ctx, s.ProjectID)
	if err != nil {
		return fmt.Errorf("sink.project_id %d: %w", s.ProjectID, err)
	}
	if p.Type != "" && p.Type != "images" {
		return fmt.Errorf("sink.project_id %d (%s) is a %s project, not an images project", p.ID, p.Name, p.Type)
	}
	s.project, s.resolved = p, true
	return nil
}

// workspace is where a new project goes: sink.workspace_id, else the source
// project's.
func (s *Sink) workspace(ctx context.Context) (int64, error) {
	ws := s.WorkspaceID
	if ws == 0 && s.SourceWorkspace != nil {
		var err error
		if ws, err = s.SourceWorkspace(ctx); err != nil {
			return 0, err
		}
	}
	if ws == 0 {
		return 0, errors.New("sink: no workspace for the new project (set sink.workspace_id or sink.project_id)")
	}
	return ws, nil
}

// sampleBase is the name of the project made from the source: "<source>(images)".
func sampleBase(custom map[string]any) string {
	srcName, _ := custom["video_project_name"].(string)
	if srcName == "" {
		srcName = "videos"
	}
	return srcName + "(images)"
}

// findSample finds, in workspace ws, the project vpipe made from this source
// (named base or base_NNN), and lists the names taken.
func (s *Sink) findSample(ctx context.Context, ws int64, base string, custom map[string]any) (*api.ProjectInfo, map[string]bool, error) {
	all, err := s.C.Projects(ctx, ws, "")
	if err != nil {
		return nil, nil, err
	}
	taken := map[string]bool{}
	for i, p := range all {
		taken[p.Name] = true
		if p.Name != base && !(strings.HasPrefix(p.Name, base) && suffix.MatchString(p.Name[len(base):])) {
			continue
		}
		c := p.CustomData
		if c[CreatedBy] == "vpipe" && fmt.Sprint(c["video_project_id"]) == fmt.Sprint(custom["video_project_id"]) &&
			c["video_project_name"] == custom["video_project_name"] {
			return &all[i], taken, nil
		}
	}
	return nil, taken, nil
}

// createSample makes the project for this source under the first free name
// of base, base_001, …; a name taken meanwhile (or by a lost answer to our
// own call) is looked up again.
func (s *Sink) createSample(ctx context.Context, ws int64, base string, taken map[string]bool, custom map[string]any) (*api.ProjectInfo, error) {
	name := base
	for n := 1; taken[name]; n++ {
		name = fmt.Sprintf("%s_%03d", base, n)
	}
	cd := map[string]any{CreatedBy: "vpipe"}
	for _, k := range []string{"is_sample", "video_project_id", "video_project_name"} {
		cd[k] = custom[k]
	}
	desc := fmt.Sprintf("Sample project made from project #%v", custom["video_project_id"])
	p, err := s.C.CreateProject(ctx, ws, name, desc, cd)
	if api.IsNonUnique(err) {
		// A lost answer to our own request, or a race: find it again.
		if p, _, err = s.findSample(ctx, ws, base, custom); err == nil && p == nil {
			err = fmt.Errorf("projects.add %q: the name is taken by a project vpipe did not make from this source", name)
		}
	}
	return p, err
}

// dataset resolves a dataset path to its id; with create, missing datasets are
// made (custom data for the last one). 0 when it does not exist.
func (s *Sink) dataset(ctx context.Context, path []string, create bool, custom map[string]any) (int64, error) {
	if id, ok := s.ids[key(path)]; ok {
		return id, nil
	}
	if err := s.resolve(ctx, nil, false); err != nil {
		return 0, err
	}
	if s.project == nil {
		return 0, nil // nothing made yet (plan)
	}
	var parent *int64
	for i, name := range path {
		pk := key(path[:i])
		list, ok := s.children[pk]
		if !ok {
			var err error
			if list, err = s.C.ChildDatasets(ctx, s.project.ID, parent); err != nil {
				return 0, err
			}
			s.children[pk] = list
		}
		var id int64
		for _, d := range list {
			if d.Name == name {
				id = d.ID
			}
		}
		if id == 0 {
			if !create {
				return 0, nil
			}
			cd := map[string]any{}
			if i == len(path)-1 {
				cd = custom
			}
			d, err := s.C.CreateDataset(ctx, s.project.ID, parent, name, description(cd), cd)
			if api.IsNonUnique(err) { // our own request, answered too late
				delete(s.children, pk)
				return s.dataset(ctx, path, create, custom)
			}
			if err != nil {
				return 0, fmt.Errorf("dataset %s: %w", strings.Join(path[:i+1], "/"), err)
			}
			s.children[pk] = append(list, *d)
			id = d.ID
		}
		s.ids[key(path[:i+1])] = id
		parent = &id
	}
	return *parent, nil
}

func description(cd map[string]any) string {
	if v, ok := cd["video_id"]; ok {
		return fmt.Sprintf("Sample dataset made from project #%v, dataset #%v, video #%v", cd["video_project_id"], cd["video_dataset_id"], v)
	}
	return fmt.Sprintf("Sample dataset made from project #%v, dataset #%v", cd["video_project_id"], cd["video_dataset_id"])
}

func (s *Sink) init() {
	if s.children == nil {
		s.children, s.ids, s.listing = map[string][]api.DatasetInfo{}, map[string]int64{}, map[string][]api.ImageInfo{}
	}
}

// Dataset makes the dataset if missing and sets its custom data (also when it
// exists: provenance is never stale). Images made with other output settings
// are refused.
func (s *Sink) Dataset(ctx context.Context, info core.DatasetInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	id, err := s.dataset(ctx, info.Dataset, true, info.Custom)
	if err != nil {
		return err
	}
	var have map[string]any
	for _, d := range s.children[key(info.Dataset[:len(info.Dataset)-1])] {
		if d.ID == id {
			have = d.CustomData
		}
	}
	if err := s.outputFits(ctx, id, info, have); err != nil {
		return err
	}
	if jsonEqual(have, info.Custom) {
		return nil
	}
	if err := s.C.SetDatasetCustomData(ctx, id, info.Custom); err != nil {
		return fmt.Errorf("dataset %d (%s): %w", id, strings.Join(info.Dataset, "/"), err)
	}
	pk := key(info.Dataset[:len(info.Dataset)-1])
	for i := range s.children[pk] {
		if s.children[pk][i].ID == id {
			s.children[pk][i].CustomData = info.Custom
		}
	}
	return nil
}

// outputFits refuses a dataset whose images were made with other output
// settings; settings recorded for a dataset that holds no image bind nothing.
func (s *Sink) outputFits(ctx context.Context, id int64, info core.DatasetInfo, have map[string]any) error {
	err := sameOutput(have[core.OutputKey], info.Custom[core.OutputKey])
	if err == nil {
		return nil
	}
	if imgs, lerr := s.C.Images(ctx, id, nil); lerr == nil && len(imgs) == 0 {
		return nil
	}
	return fmt.Errorf("dataset %d (%s): %w; write to another project, or remove that dataset", id, strings.Join(info.Dataset, "/"), err)
}

// Check makes Begin's checks and writes nothing: the project, if it exists,
// must take the source's meta.
func (s *Sink) Check(ctx context.Context, meta *sv.ProjectMeta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.resolve(ctx, nil, false); err != nil || s.project == nil || meta == nil {
		return err
	}
	raw, err := s.C.ProjectMeta(ctx, s.project.ID)
	if err != nil {
		return err
	}
	var have sv.ProjectMeta
	if err := have.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("projects.meta of project %d: %w", s.project.ID, err)
	}
	if _, err := sv.OutputMeta(&have, meta); err != nil {
		return fmt.Errorf("project %d (%s): cannot merge the source project's meta: %w", s.project.ID, s.project.Name, err)
	}
	return nil
}

// CheckDataset tells, making nothing, whether a dataset can take this run's images.
func (s *Sink) CheckDataset(ctx context.Context, info core.DatasetInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	id, err := s.dataset(ctx, info.Dataset, false, nil)
	if err != nil || id == 0 {
		return err
	}
	var have map[string]any
	for _, d := range s.children[key(info.Dataset[:len(info.Dataset)-1])] {
		if d.ID == id {
			have = d.CustomData
		}
	}
	return s.outputFits(ctx, id, info, have)
}

// Existing lists the titles in a dataset (nothing if it does not exist). It makes nothing.
func (s *Sink) Existing(ctx context.Context, dataset []string) (map[string]bool, error) {
	s.mu.Lock()
	s.init()
	id, err := s.dataset(ctx, dataset, false, nil)
	s.mu.Unlock()
	out := map[string]bool{}
	if err != nil || id == 0 {
		return out, err
	}
	imgs, err := s.C.Images(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	for _, im := range imgs {
		out[im.Name] = true
	}
	s.mu.Lock()
	s.listing[key(dataset)] = imgs
	s.mu.Unlock()
	return out, nil
}

// Reannotate lists images of the last Existing listing that still have the
// empty annotation of a new image (or all of them, to overwrite).
func (s *Sink) Reannotate(_ context.Context, dataset []string) (map[string]int64, bool, error) {
	s.mu.Lock()
	imgs := s.listing[key(dataset)]
	delete(s.listing, key(dataset))
	s.mu.Unlock()
	out := map[string]int64{}
	sizes := map[string][2]int{}
	for _, im := range imgs {
		if s.Overwrite || (im.LabelsCount == 0 && len(im.Tags) == 0) {
			out[im.Name] = im.ID
			sizes[im.Name] = [2]int{im.Width, im.Height}
		}
	}
	s.mu.Lock()
	if s.sizes == nil {
		s.sizes = map[string]map[string][2]int{}
	}
	s.sizes[key(dataset)] = sizes
	s.mu.Unlock()
	return out, s.Overwrite, nil
}

// ImageSize is the size the server holds for an image the last Reannotate of
// its dataset listed: without a resize each image has its frame's decoded
// size, which the runner cannot know without decoding.
func (s *Sink) ImageSize(dataset []string, name string) (w, h int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh, ok := s.sizes[key(dataset)][name]
	return wh[0], wh[1], ok && wh[0] > 0 && wh[1] > 0
}

// Upload sends the bytes the server lacks and registers the batch.
func (s *Sink) Upload(ctx context.Context, b *core.Batch) ([]core.Registered, error) {
	s.mu.Lock()
	s.init()
	id, err := s.dataset(ctx, b.Dataset, true, nil)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	hashes := make([]string, len(b.Images))
	var uniq []string
	data := map[string][]byte{}
	for i, img := range b.Images {
		h := api.Hash(img.Data)
		hashes[i] = h
		if _, ok := data[h]; !ok {
			data[h] = img.Data
			uniq = append(uniq, h)
		}
	}
	have, err := s.C.HashesKnown(ctx, uniq)
	if err != nil {
		return nil, err
	}
	for h := range have {
		delete(data, h)
	}
	if err := s.C.UploadBytes(ctx, data); err != nil {
		return nil, err
	}
	regs := make([]core.Registered, len(b.Images))
	todo := make([]int, len(b.Images))
	for i := range todo {
		todo[i] = i
	}
	for round := 0; len(todo) > 0; round++ {
		var req []api.NewImage
		for _, i := range todo {
			req = append(req, api.NewImage{Title: b.Images[i].Name, Hash: hashes[i], Meta: b.Images[i].Meta})
		}
		infos, err := s.C.AddImages(ctx, id, req)
		if err == nil {
			for k, i := range todo {
				regs[i] = core.Registered{Image: b.Images[i], ID: infos[k].ID}
			}
			break
		}
		if !api.IsNonUnique(err) || round > 0 {
			return nil, err
		}
		// The names exist: our own request whose answer was lost (the titles of
		// a batch are never in the dataset before it: Existing left them out).
		list, lerr := s.C.Images(ctx, id, nil)
		if lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		byTitle := map[string]api.ImageInfo{}
		for _, im := range list {
			byTitle[im.Name] = im
		}
		var rest []int
		for _, i := range todo {
			im, ok := byTitle[b.Images[i].Name]
			switch {
			case !ok:
				rest = append(rest, i)
			case im.Hash != hashes[i]:
				return nil, fmt.Errorf("%w: %s is there with other bytes (hash %s, this run's %s)", err, im.Name, im.Hash, hashes[i])
			default:
				regs[i] = core.Registered{Image: b.Images[i], ID: im.ID}
			}
		}
		todo = rest
	}
	return regs, nil
}

// Annotate sends annotations in batches of 50, in subpixel coordinates, and
// returns how many arrived. A retry after a failure that may have been applied
// first leaves out the images whose annotation arrived (they have labels or
// tags now).
func (s *Sink) Annotate(ctx context.Context, dataset []string, imgs []core.Registered, all bool) (int, error) {
	if len(imgs) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	s.init()
	id, err := s.dataset(ctx, dataset, true, nil)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	var anns []api.ImageAnnotation
	for _, r := range imgs {
		if !all && emptyAnn(r.Image.Ann) {
			continue
		}
		sub, err := sv.ToSubpixel(r.Image.Ann)
		if err != nil {
			return 0, fmt.Errorf("%s: annotation: %w", r.Image.Name, err)
		}
		anns = append(anns, api.ImageAnnotation{ImageID: r.ID, Annotation: sub})
	}
	for i := 0; i < len(anns); i += 50 {
		if err := s.annotate(ctx, id, anns[i:min(i+50, len(anns))], all); err != nil {
			return i, err
		}
	}
	return len(anns), nil
}

// annotate sends one batch; a retry leaves out what arrived (unless all).
func (s *Sink) annotate(ctx context.Context, id int64, part []api.ImageAnnotation, all bool) error {
	return s.C.CallEach(ctx, "annotations.bulk.add", func(attempt int) (any, bool, error) {
		if attempt > 0 && !all {
			rest, err := s.notLanded(ctx, id, part)
			if err != nil {
				return nil, false, err
			}
			part = rest
		}
		if len(part) == 0 {
			return nil, true, nil
		}
		return map[string]any{"datasetId": id, "annotations": part, "skipBoundsValidation": false}, false, nil
	}, nil)
}

// notLanded leaves out of part the images that have labels or tags now.
func (s *Sink) notLanded(ctx context.Context, id int64, part []api.ImageAnnotation) ([]api.ImageAnnotation, error) {
	ids := make([]any, len(part))
	for k, a := range part {
		ids[k] = a.ImageID
	}
	landed, err := s.C.Images(ctx, id, []api.Filter{{Field: "id", Operator: "in", Value: ids}})
	if err != nil {
		return nil, err
	}
	done := map[int64]bool{}
	for _, im := range landed {
		done[im.ID] = im.LabelsCount > 0 || len(im.Tags) > 0
	}
	var rest []api.ImageAnnotation
	for _, a := range part {
		if !done[a.ImageID] {
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// emptyAnn tells whether an annotation has no labels and no tags.
func emptyAnn(raw json.RawMessage) bool {
	var a struct {
		Objects []json.RawMessage `json:"objects"`
		Tags    []json.RawMessage `json:"tags"`
	}
	return json.Unmarshal(raw, &a) == nil && len(a.Objects) == 0 && len(a.Tags) == 0
}

// Put stores one image: upload, then its annotation.
func (s *Sink) Put(ctx context.Context, img *core.Image) error {
	regs, err := s.Upload(ctx, &core.Batch{Dataset: img.Dataset, Images: []*core.Image{img}})
	if err != nil {
		return err
	}
	_, err = s.Annotate(ctx, img.Dataset, regs, false)
	return err
}

// Delete leaves images on the server: the reference gives no call to remove
// them. A failed video keeps what it registered; a re-run completes it.
func (s *Sink) Delete(context.Context, []string, []string) error { return nil }

// Close has nothing to flush.
func (s *Sink) Close() error { return nil }

// Features: the platform takes images in batches (Upload, then Annotate), and
// knows the size of the images it holds.
func (s *Sink) Features() core.SinkFeatures {
	return core.SinkFeatures{Batch: &core.BatchOps{Upload: s.Upload, Annotate: s.Annotate, Reannotate: s.Reannotate, ImageSize: s.ImageSize}}
}

func sameOutput(have, want any) error {
	if have == nil || want == nil {
		return nil
	}
	have, want = core.OutputWithDefaults(have), core.OutputWithDefaults(want)
	if !jsonEqual(have, want) {
		a, _ := json.Marshal(have)
		b, _ := json.Marshal(want)
		return fmt.Errorf("its images were made with %s, this run makes %s", a, b)
	}
	return nil
}

func jsonEqual(a, b any) bool {
	norm := func(v any) string {
		raw, _ := json.Marshal(v)
		var x any
		json.Unmarshal(raw, &x)
		out, _ := json.Marshal(x)
		return string(out)
	}
	return norm(a) == norm(b)
}
