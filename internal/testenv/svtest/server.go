// Package svtest is an in-memory Supervisely server for tests: the endpoints and
// field names of the reference (§1–§3, §6.2), over real HTTP on 127.0.0.1, with
// auth, small pages, NONUNIQUE name conflicts, multipart uploads, Range on the
// storage URL, and injected faults (latency, bursts of 5xx/429, a stalled or
// reset video stream, a response lost after the request was applied).
package svtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math/rand"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpipe/vpipe/supervisely/api"
)

// Project is a project on the server.
type Project struct {
	ID          int64
	Name        string
	Description string
	Type        string
	WorkspaceID int64
	CustomData  map[string]any
	Meta        json.RawMessage
}

// Dataset is a dataset on the server.
type Dataset struct {
	ID          int64
	ProjectID   int64
	ParentID    *int64
	Name        string
	Description string
	CustomData  map[string]any
}

// Video is a video on the server.
type Video struct {
	ID          int64
	DatasetID   int64
	Name        string
	Data        []byte
	FramesCount int
	Width       int
	Height      int
	Ann         json.RawMessage // server form, without videoId/videoName (added on output)
}

// Image is an image on the server.
type Image struct {
	ID        int64
	DatasetID int64
	Title     string
	Hash      string
	Meta      map[string]any
	Width     int
	Height    int
	Ann       json.RawMessage // last annotation received (subpixel, as sent)
	AnnPosts  int             // annotations.bulk.add calls that carried this image
}

// Faults are injected into requests. Counters are consumed as they fire.
type Faults struct {
	Latency time.Duration // added to every API call
	// FailRate is the share of API calls that start a burst of 1..MaxBurst
	// failures (500, 502, 503 or 429 with Retry-After: 0), drawn from Seed.
	FailRate float64
	MaxBurst int
	Seed     int64
	// Fail makes the next N calls of a method fail with 503 (beyond any budget).
	Fail map[string]int
	// Lose applies the next N calls of a method, then drops the connection
	// without a response.
	Lose map[string]int
	// Stall: the first storage request for the video (by id) sends this many
	// bytes, then nothing until the client gives up.
	Stall map[int64]int64
	// Reset: the first storage request for the video sends this many bytes, then
	// the connection is cut.
	Reset map[int64]int64
}

// Server is the fake.
type Server struct {
	Token    string
	PageSize int
	TeamID   int64

	srv   *httptest.Server
	decoy *httptest.Server

	mu       sync.Mutex
	next     int64
	projects map[int64]*Project
	datasets map[int64]*Dataset
	videos   map[int64]*Video
	images   map[int64]*Image
	blobs    map[string][]byte
	faults   Faults
	rng      *rand.Rand
	burst    int
	calls    map[string]int
	served   map[int64]int64 // storage + download bytes per video
	decoyHit int
	badAuth  int
	fired    map[string]int
	onCall   func(method string)
}

// New starts a server with the token and page size.
func New(token string, pageSize int) *Server {
	s := &Server{Token: token, PageSize: pageSize, TeamID: 1, next: 100,
		projects: map[int64]*Project{}, datasets: map[int64]*Dataset{}, videos: map[int64]*Video{},
		images: map[int64]*Image{}, blobs: map[string][]byte{}, calls: map[string]int{}, fired: map[string]int{}, served: map[int64]int64{},
		rng: rand.New(rand.NewSource(1))}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	// fullStorageUrl names this host; a client must rewrite it to the server's.
	s.decoy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.decoyHit++
		s.mu.Unlock()
		http.Error(w, "this is the storage host named in fullStorageUrl; requests must go to the API server", http.StatusTeapot)
	}))
	return s
}

// URL is the server address.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the servers.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.decoy.Close()
}

// SetFaults replaces the fault plan.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = rand.New(rand.NewSource(f.Seed))
	s.burst = 0
}

// OnCall registers a function called (outside the lock) before each API call is handled.
func (s *Server) OnCall(fn func(method string)) {
	s.mu.Lock()
	s.onCall = fn
	s.mu.Unlock()
}

// Calls is how many requests each method got.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Served is how many bytes of the video the server sent (storage and download).
func (s *Server) Served(videoID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[videoID]
}

// Fired counts the faults that happened: "stall", "reset", "lose <method>",
// "fail <method>", "burst <status>".
func (s *Server) Fired() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.fired {
		out[k] = v
	}
	return out
}

// DecoyHits counts requests that went to the storage host of fullStorageUrl.
func (s *Server) DecoyHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decoyHit
}

// BadAuth counts requests refused for a missing or wrong token.
func (s *Server) BadAuth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badAuth
}

func (s *Server) id() int64 { s.next++; return s.next }

// AddProject seeds a project.
func (s *Server) AddProject(workspace int64, name, typ string, meta json.RawMessage) *Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	if meta == nil {
		meta = json.RawMessage(`{"classes":[],"tags":[],"projectType":"` + typ + `"}`)
	}
	p := &Project{ID: s.id(), Name: name, Type: typ, WorkspaceID: workspace, Meta: meta, CustomData: map[string]any{}}
	s.projects[p.ID] = p
	return p
}

// AddDataset seeds a dataset.
func (s *Server) AddDataset(project int64, parent *int64, name string) *Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &Dataset{ID: s.id(), ProjectID: project, ParentID: parent, Name: name, CustomData: map[string]any{}}
	s.datasets[d.ID] = d
	return d
}

// AddVideo seeds a video with its server-form annotation.
func (s *Server) AddVideo(dataset int64, name string, data []byte, frames, w, h int, ann json.RawMessage) *Video {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &Video{ID: s.id(), DatasetID: dataset, Name: name, Data: data, FramesCount: frames, Width: w, Height: h, Ann: ann}
	s.videos[v.ID] = v
	return v
}

// Projects, Datasets and Images return copies of the state, sorted by id.
func (s *Server) Projects() []Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Project
	for _, p := range s.projects {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) Datasets(project int64) []Dataset {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Dataset
	for _, d := range s.datasets {
		if d.ProjectID == project {
			out = append(out, *d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) Images(dataset int64) []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Image
	for _, im := range s.images {
		if im.DatasetID == dataset {
			out = append(out, *im)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Blob is the stored bytes of an image hash.
func (s *Server) Blob(hash string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blobs[hash]
}

// apiError writes the server's error shape.
func apiError(w http.ResponseWriter, status int, msg string, details any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"error": msg}
	if details != nil {
		body["details"] = details
	}
	json.NewEncoder(w).Encode(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("x-api-key") != s.Token {
		s.mu.Lock()
		s.badAuth++
		s.mu.Unlock()
		apiError(w, http.StatusUnauthorized, "unauthorized", map[string]any{"message": "invalid or missing x-api-key"})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/storage/") {
		s.storage(w, r)
		return
	}
	const prefix = "/public/api/v3/"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) {
		apiError(w, http.StatusNotFound, "not found", nil)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	s.mu.Lock()
	s.calls[method]++
	f := s.faults
	fail, lose := false, false
	if s.faults.Fail[method] > 0 {
		s.faults.Fail[method]--
		fail = true
	}
	status := 0
	if !fail && f.FailRate > 0 {
		if s.burst == 0 && s.rng.Float64() < f.FailRate {
			s.burst = 1 + s.rng.Intn(max(1, f.MaxBurst))
		}
		if s.burst > 0 {
			s.burst--
			status = []int{500, 502, 503, 429}[s.rng.Intn(4)]
		}
	}
	if !fail && status == 0 && s.faults.Lose[method] > 0 {
		s.faults.Lose[method]--
		lose = true
	}
	switch {
	case fail:
		s.fired["fail "+method]++
	case status != 0:
		s.fired[fmt.Sprintf("burst %d", status)]++
	case lose:
		s.fired["lose "+method]++
	}
	onCall := s.onCall
	s.mu.Unlock()
	if onCall != nil {
		onCall(method)
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	switch {
	case fail:
		apiError(w, http.StatusServiceUnavailable, "injected failure", map[string]any{"message": "service unavailable (injected, beyond the retry budget)"})
		return
	case status == 429:
		w.Header().Set("Retry-After", "0")
		apiError(w, status, "too many requests", nil)
		return
	case status != 0:
		apiError(w, status, "injected failure", nil)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "cannot read body", nil)
		return
	}
	if lose {
		rec := httptest.NewRecorder()
		s.handle(rec, r, method, body)
		panic(http.ErrAbortHandler) // applied; the response never arrives
	}
	s.handle(w, r, method, body)
}

type req map[string]json.RawMessage

func (q req) int(k string) int64 {
	var n int64
	json.Unmarshal(q[k], &n)
	return n
}

func (q req) optInt(k string) *int64 {
	raw, ok := q[k]
	if !ok || string(raw) == "null" {
		return nil
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil {
		return nil
	}
	return &n
}

func (q req) str(k string) string {
	var v string
	json.Unmarshal(q[k], &v)
	return v
}

func (q req) filters() []api.Filter {
	var f []api.Filter
	json.Unmarshal(q["filter"], &f)
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// paginate answers a list call: sorted by id ascending, page/per_page honoured,
// the server's own page size otherwise.
func (s *Server) paginate(w http.ResponseWriter, q req, items []map[string]any) {
	sort.Slice(items, func(i, j int) bool { return items[i]["id"].(int64) < items[j]["id"].(int64) })
	per := s.PageSize
	if p := q.int("per_page"); p > 0 {
		per = int(p)
	}
	pg := int(q.int("page"))
	if pg < 1 {
		pg = 1
	}
	pages := (len(items) + per - 1) / per
	from, to := min((pg-1)*per, len(items)), min(pg*per, len(items))
	writeJSON(w, map[string]any{"total": len(items), "perPage": per, "pagesCount": pages, "entities": items[from:to]})
}

// match applies "=" and "in" filters on a field.
func match(fs []api.Filter, get func(field string) any) bool {
	for _, f := range fs {
		v := get(f.Field)
		switch f.Operator {
		case "=":
			if fmt.Sprint(v) != fmt.Sprint(f.Value) {
				return false
			}
		case "in":
			list, _ := f.Value.([]any)
			ok := false
			for _, x := range list {
				if fmt.Sprint(x) == fmt.Sprint(v) {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func nonunique(w http.ResponseWriter, what, name string, id int64) {
	apiError(w, http.StatusBadRequest, what+" with this name already exists", map[string]any{
		"type": "NONUNIQUE", "message": fmt.Sprintf("%s %q already exists", what, name),
		"errors": []map[string]any{{"name": name, "id": id}}})
}

func (s *Server) projectJSON(p *Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "description": p.Description, "type": p.Type,
		"workspaceId": p.WorkspaceID, "teamId": s.TeamID, "customData": p.CustomData, "readme": "",
		"imagesCount": nil, "itemsCount": nil, "datasetsCount": nil, "createdAt": "", "updatedAt": ""}
}

func datasetJSON(d *Dataset) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "description": d.Description, "projectId": d.ProjectID,
		"parentId": d.ParentID, "customData": d.CustomData, "teamId": 1, "workspaceId": 1}
}

func (s *Server) videoJSON(v *Video) map[string]any {
	return map[string]any{"id": v.ID, "name": v.Name, "hash": api.Hash(v.Data), "datasetId": v.DatasetID,
		"projectId": s.datasets[v.DatasetID].ProjectID, "teamId": s.TeamID, "workspaceId": 1, "link": nil,
		"fileMeta": map[string]any{"framesCount": v.FramesCount, "width": v.Width, "height": v.Height,
			"size": strconv.Itoa(len(v.Data)), "mime": "video/mp4"},
		"fullStorageUrl": s.decoy.URL + fmt.Sprintf("/storage/videos/%d/%s", v.ID, v.Name),
		"description":    "", "tags": []any{}, "meta": map[string]any{}, "customData": map[string]any{}}
}

func imageJSON(im *Image) map[string]any {
	labels, tags := 0, []any{}
	if im.Ann != nil {
		var a struct {
			Objects []any `json:"objects"`
			Tags    []any `json:"tags"`
		}
		json.Unmarshal(im.Ann, &a)
		labels = len(a.Objects)
		tags = append(tags, a.Tags...)
	}
	return map[string]any{"id": im.ID, "name": im.Title, "hash": im.Hash, "datasetId": im.DatasetID, "mime": "image/png",
		"width": im.Width, "height": im.Height, "labelsCount": labels, "tags": tags, "meta": im.Meta, "link": nil}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, method string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "images.bulk.upload" {
		s.bulkUpload(w, r, body)
		return
	}
	if method == "images.internal.hashes.list" {
		var hs []string
		if err := json.Unmarshal(body, &hs); err != nil {
			apiError(w, 400, "want a JSON array of hashes", nil)
			return
		}
		if len(hs) > 900 {
			apiError(w, 400, "at most 900 hashes", nil)
			return
		}
		out := []string{}
		for _, h := range hs {
			if _, ok := s.blobs[h]; ok {
				out = append(out, h)
			}
		}
		writeJSON(w, out)
		return
	}
	var q req
	if err := json.Unmarshal(body, &q); err != nil {
		apiError(w, 400, "invalid JSON body", map[string]any{"message": err.Error()})
		return
	}
	switch method {
	case "projects.info":
		p := s.projects[q.int("id")]
		if p == nil {
			apiError(w, 404, "project not found", nil)
			return
		}
		writeJSON(w, s.projectJSON(p))
	case "projects.meta":
		p := s.projects[q.int("id")]
		if p == nil {
			apiError(w, 404, "project not found", nil)
			return
		}
		writeJSON(w, p.Meta)
	case "projects.meta.update":
		p := s.projects[q.int("id")]
		if p == nil {
			apiError(w, 404, "project not found", nil)
			return
		}
		meta, err := s.assignMetaIDs(q["meta"])
		if err != nil {
			apiError(w, 400, "invalid meta", map[string]any{"message": err.Error()})
			return
		}
		p.Meta = meta
		writeJSON(w, p.Meta)
	case "projects.settings.update":
		writeJSON(w, map[string]any{"success": true})
	case "projects.list":
		ws := q.int("workspaceId")
		var items []map[string]any
		for _, p := range s.projects {
			if p.WorkspaceID == ws && match(q.filters(), func(f string) any { return s.projectJSON(p)[f] }) {
				items = append(items, s.projectJSON(p))
			}
		}
		s.paginate(w, q, items)
	case "projects.add":
		name, ws := q.str("name"), q.int("workspaceId")
		if name == "" || ws == 0 {
			apiError(w, 400, "name and workspaceId are required", nil)
			return
		}
		for _, p := range s.projects {
			if p.WorkspaceID == ws && p.Name == name {
				nonunique(w, "project", name, p.ID)
				return
			}
		}
		p := &Project{ID: s.id(), Name: name, Description: q.str("description"), Type: q.str("type"), WorkspaceID: ws,
			CustomData: map[string]any{}, Meta: json.RawMessage(`{"classes":[],"tags":[],"projectType":"images"}`)}
		if raw, ok := q["customData"]; ok && string(raw) != "null" {
			json.Unmarshal(raw, &p.CustomData)
		}
		s.projects[p.ID] = p
		writeJSON(w, s.projectJSON(p))
	case "projects.editInfo":
		p := s.projects[q.int("id")]
		if p == nil {
			apiError(w, 404, "project not found", nil)
			return
		}
		if raw, ok := q["customData"]; ok {
			p.CustomData = map[string]any{}
			json.Unmarshal(raw, &p.CustomData)
		}
		writeJSON(w, s.projectJSON(p))
	case "datasets.list":
		pid := q.int("projectId")
		var recursive bool
		json.Unmarshal(q["recursive"], &recursive)
		fs := q.filters()
		byParent := false
		for _, f := range fs {
			byParent = byParent || f.Field == "parentId"
		}
		var items []map[string]any
		for _, d := range s.datasets {
			if d.ProjectID != pid || (!recursive && !byParent && d.ParentID != nil) {
				continue
			}
			if match(fs, func(f string) any {
				if f == "parentId" && d.ParentID != nil {
					return *d.ParentID
				}
				return datasetJSON(d)[f]
			}) {
				items = append(items, datasetJSON(d))
			}
		}
		s.paginate(w, q, items)
	case "datasets.info":
		d := s.datasets[q.int("id")]
		if d == nil {
			apiError(w, 404, "dataset not found", nil)
			return
		}
		writeJSON(w, datasetJSON(d))
	case "datasets.add":
		pid, name, parent := q.int("projectId"), q.str("name"), q.optInt("parentId")
		if s.projects[pid] == nil || name == "" {
			apiError(w, 400, "projectId and name are required", nil)
			return
		}
		for _, d := range s.datasets {
			if d.ProjectID == pid && d.Name == name && fmt.Sprint(deref(d.ParentID)) == fmt.Sprint(deref(parent)) {
				nonunique(w, "dataset", name, d.ID)
				return
			}
		}
		d := &Dataset{ID: s.id(), ProjectID: pid, ParentID: parent, Name: name, Description: q.str("description"), CustomData: map[string]any{}}
		if raw, ok := q["customData"]; ok && string(raw) != "null" {
			json.Unmarshal(raw, &d.CustomData)
		}
		s.datasets[d.ID] = d
		writeJSON(w, datasetJSON(d))
	case "datasets.editInfo":
		d := s.datasets[q.int("id")]
		if d == nil {
			apiError(w, 404, "dataset not found", nil)
			return
		}
		if raw, ok := q["customData"]; ok {
			d.CustomData = map[string]any{}
			json.Unmarshal(raw, &d.CustomData)
		}
		writeJSON(w, datasetJSON(d))
	case "videos.list":
		did := q.int("datasetId")
		var items []map[string]any
		for _, v := range s.videos {
			if v.DatasetID == did {
				j := s.videoJSON(v)
				delete(j, "fullStorageUrl")
				items = append(items, j)
			}
		}
		s.paginate(w, q, items)
	case "videos.info":
		v := s.videos[q.int("id")]
		if v == nil {
			apiError(w, 404, "video not found", nil)
			return
		}
		writeJSON(w, s.videoJSON(v))
	case "videos.download":
		v := s.videos[q.int("id")]
		if v == nil {
			apiError(w, 404, "video not found", nil)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		n, _ := w.Write(v.Data)
		s.served[v.ID] += int64(n)
	case "videos.annotations.bulk.info":
		did := q.int("datasetId")
		var ids []int64
		json.Unmarshal(q["videoIds"], &ids)
		out := []json.RawMessage{}
		for _, id := range ids {
			v := s.videos[id]
			if v == nil || v.DatasetID != did {
				apiError(w, 400, fmt.Sprintf("video %d is not in dataset %d", id, did), nil)
				return
			}
			var m map[string]any
			json.Unmarshal(v.Ann, &m)
			m["videoId"], m["videoName"] = v.ID, v.Name
			b, _ := json.Marshal(m)
			out = append(out, b)
		}
		writeJSON(w, out)
	case "images.list":
		did := q.int("datasetId")
		var items []map[string]any
		for _, im := range s.images {
			if im.DatasetID == did && match(q.filters(), func(f string) any { return imageJSON(im)[f] }) {
				items = append(items, imageJSON(im))
			}
		}
		s.paginate(w, q, items)
	case "images.info":
		im := s.images[q.int("id")]
		if im == nil {
			apiError(w, 404, "image not found", nil)
			return
		}
		writeJSON(w, imageJSON(im))
	case "images.bulk.add":
		s.bulkAdd(w, q)
	case "annotations.bulk.add":
		did := q.int("datasetId")
		var anns []api.ImageAnnotation
		if err := json.Unmarshal(q["annotations"], &anns); err != nil {
			apiError(w, 400, "invalid annotations", nil)
			return
		}
		for _, a := range anns {
			im := s.images[a.ImageID]
			if im == nil || im.DatasetID != did {
				apiError(w, 400, fmt.Sprintf("image %d is not in dataset %d", a.ImageID, did), nil)
				return
			}
			var chk struct {
				Size struct{ Height, Width int } `json:"size"`
			}
			if json.Unmarshal(a.Annotation, &chk) != nil || chk.Size.Height != im.Height || chk.Size.Width != im.Width {
				apiError(w, 400, fmt.Sprintf("annotation size of image %d is not %dx%d", im.ID, im.Width, im.Height), nil)
				return
			}
		}
		for _, a := range anns {
			im := s.images[a.ImageID]
			im.Ann = a.Annotation
			im.AnnPosts++
		}
		writeJSON(w, map[string]any{"success": true})
	default:
		apiError(w, 404, "unknown method "+method, nil)
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// assignMetaIDs gives classes and tag metas without an id (or with a foreign one)
// a server id, as the server does when a meta is saved.
func (s *Server) assignMetaIDs(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"classes", "tags"} {
		list, _ := m[k].([]any)
		for _, x := range list {
			if o, ok := x.(map[string]any); ok {
				if _, has := o["id"]; !has {
					o["id"] = s.id()
				}
			}
		}
	}
	return json.Marshal(m)
}

func (s *Server) bulkUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		apiError(w, 400, "want multipart/form-data", nil)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []map[string]any
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			apiError(w, 400, "bad multipart body", map[string]any{"message": err.Error()})
			return
		}
		if p.FormName() != fmt.Sprintf("%d-file", i) || p.FileName() != strconv.Itoa(i) || p.Header.Get("Content-Type") != "image/*" {
			apiError(w, 400, fmt.Sprintf("part %d: want name %d-file, filename %d, Content-Type image/*", i, i, i), nil)
			return
		}
		b, _ := io.ReadAll(p)
		h := api.Hash(b)
		s.blobs[h] = b
		out = append(out, map[string]any{"hash": h})
	}
	writeJSON(w, out)
}

func (s *Server) bulkAdd(w http.ResponseWriter, q req) {
	did := q.int("datasetId")
	if s.datasets[did] == nil {
		apiError(w, 404, "dataset not found", nil)
		return
	}
	var imgs []struct {
		Title string         `json:"title"`
		Name  string         `json:"name"`
		Hash  string         `json:"hash"`
		Meta  map[string]any `json:"meta"`
	}
	if err := json.Unmarshal(q["images"], &imgs); err != nil {
		apiError(w, 400, "invalid images", nil)
		return
	}
	if len(imgs) > 50 {
		apiError(w, 400, "at most 50 images per call", nil)
		return
	}
	seen := map[string]bool{}
	for _, im := range imgs {
		if im.Title == "" || im.Name != "" {
			apiError(w, 400, "each image needs a title (not name)", nil)
			return
		}
		if seen[im.Title] {
			nonunique(w, "image", im.Title, 0)
			return
		}
		seen[im.Title] = true
		for _, have := range s.images {
			if have.DatasetID == did && have.Title == im.Title {
				nonunique(w, "image", im.Title, have.ID)
				return
			}
		}
		if _, ok := s.blobs[im.Hash]; !ok {
			apiError(w, 400, "unknown hash "+im.Hash, nil)
			return
		}
	}
	var out []map[string]any
	for _, im := range imgs {
		cfg, err := png.DecodeConfig(bytes.NewReader(s.blobs[im.Hash]))
		if err != nil {
			apiError(w, 400, "not an image: "+im.Title, nil)
			return
		}
		x := &Image{ID: s.id(), DatasetID: did, Title: im.Title, Hash: im.Hash, Meta: im.Meta, Width: cfg.Width, Height: cfg.Height}
		s.images[x.ID] = x
		out = append(out, imageJSON(x))
	}
	writeJSON(w, out)
}

// storage serves a video's bytes at the path of its fullStorageUrl, with Range.
func (s *Server) storage(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/storage/videos/"), "/")
	id, _ := strconv.ParseInt(parts[0], 10, 64)
	s.mu.Lock()
	v := s.videos[id]
	stall, reset := int64(-1), int64(-1)
	if n, ok := s.faults.Stall[id]; ok {
		stall = n
		delete(s.faults.Stall, id)
	}
	if n, ok := s.faults.Reset[id]; ok {
		reset = n
		delete(s.faults.Reset, id)
	}
	s.mu.Unlock()
	if v == nil {
		http.NotFound(w, r)
		return
	}
	cw := &countingWriter{ResponseWriter: w, s: s, id: id, limit: -1}
	fire := func(what string) {
		s.mu.Lock()
		s.fired[what]++
		s.mu.Unlock()
	}
	switch {
	case stall >= 0:
		cw.limit, cw.onLimit = stall, func() { fire("stall"); <-r.Context().Done() }
	case reset >= 0:
		cw.limit, cw.onLimit = reset, func() { fire("reset"); panic(http.ErrAbortHandler) }
	}
	http.ServeContent(cw, r, v.Name, time.Time{}, bytes.NewReader(v.Data))
}

// countingWriter counts the bytes sent and plays a stall or reset at a limit.
type countingWriter struct {
	http.ResponseWriter
	s       *Server
	id      int64
	sent    int64
	limit   int64
	onLimit func()
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.limit >= 0 && c.sent+int64(len(b)) > c.limit {
		n, _ := c.ResponseWriter.Write(b[:c.limit-c.sent])
		c.add(n)
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		c.onLimit()
		return n, io.ErrClosedPipe
	}
	n, err := c.ResponseWriter.Write(b)
	c.add(n)
	return n, err
}

func (c *countingWriter) add(n int) {
	c.sent += int64(n)
	c.s.mu.Lock()
	c.s.served[c.id] += int64(n)
	c.s.mu.Unlock()
}
