package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"sort"
	"strconv"
)

// ProjectInfo is the part of a project's info vpipe uses (§3).
type ProjectInfo struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	WorkspaceID int64          `json:"workspaceId"`
	TeamID      int64          `json:"teamId"`
	Type        string         `json:"type"`
	CustomData  map[string]any `json:"customData"`
}

// DatasetInfo is a dataset's info (§3).
type DatasetInfo struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	ProjectID   int64          `json:"projectId"`
	ParentID    *int64         `json:"parentId"`
	CustomData  map[string]any `json:"customData"`
}

// FileMeta is VideoInfo.fileMeta.
type FileMeta struct {
	FramesCount int         `json:"framesCount"`
	Width       int         `json:"width"`
	Height      int         `json:"height"`
	Size        json.Number `json:"size"` // a string on the server
	Mime        string      `json:"mime"`
}

// VideoInfo is a video's info (§3).
type VideoInfo struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	Hash           string   `json:"hash"`
	DatasetID      int64    `json:"datasetId"`
	ProjectID      int64    `json:"projectId"`
	FileMeta       FileMeta `json:"fileMeta"`
	FullStorageURL string   `json:"fullStorageUrl"`
}

// SizeBytes is fileMeta.size as a number (0 if unknown).
func (v *VideoInfo) SizeBytes() int64 {
	n, _ := strconv.ParseInt(string(v.FileMeta.Size), 10, 64)
	return n
}

// ImageInfo is an image's info (§3).
type ImageInfo struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Hash        string           `json:"hash"`
	DatasetID   int64            `json:"datasetId"`
	Width       int              `json:"width"`
	Height      int              `json:"height"`
	LabelsCount int              `json:"labelsCount"`
	Tags        []map[string]any `json:"tags"`
	Meta        map[string]any   `json:"meta"`
}

// Filter is one item of a list call's filter (§2.1).
type Filter struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

type page struct {
	Total      int               `json:"total"`
	PerPage    int               `json:"perPage"`
	PagesCount int               `json:"pagesCount"`
	Entities   []json.RawMessage `json:"entities"`
}

// List calls a paginated *.list method and returns every entity of every page
// (get_list_all_pages, §1): sort by id ascending unless body sorts, then pages
// 2..pagesCount with per_page; the count must come to total.
func List[T any](ctx context.Context, c *Client, method string, body map[string]any) ([]T, error) {
	b := map[string]any{}
	for k, v := range body {
		b[k] = v
	}
	if _, ok := b["sort"]; !ok {
		b["sort"] = "id"
		b["sort_order"] = "asc"
	}
	var first page
	if err := c.Call(ctx, method, b, &first); err != nil {
		return nil, err
	}
	raws := first.Entities
	if first.PagesCount > 1 || len(raws) < first.Total {
		for p := 2; p <= first.PagesCount; p++ {
			b["page"] = p
			b["per_page"] = first.PerPage
			var next page
			if err := c.Call(ctx, method, b, &next); err != nil {
				return nil, err
			}
			raws = append(raws, next.Entities...)
		}
	}
	if len(raws) != first.Total {
		return nil, &Error{Method: method, Status: 200, Message: fmt.Sprintf("listed %d entities, the server said total %d", len(raws), first.Total)}
	}
	out := make([]T, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, &Error{Method: method, Status: 200, Message: "decode entity: " + err.Error()}
		}
	}
	return out, nil
}

// ProjectInfo is projects.info.
func (c *Client) ProjectInfo(ctx context.Context, id int64) (*ProjectInfo, error) {
	var p ProjectInfo
	if err := c.Call(ctx, "projects.info", map[string]any{"id": id}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ProjectMeta is projects.meta, as raw JSON.
func (c *Client) ProjectMeta(ctx context.Context, id int64) (json.RawMessage, error) {
	var m json.RawMessage
	err := c.Call(ctx, "projects.meta", map[string]any{"id": id}, &m)
	return m, err
}

// UpdateProjectMeta is projects.meta.update followed by projects.settings.update,
// as the SDK's update_meta does.
func (c *Client) UpdateProjectMeta(ctx context.Context, id int64, meta json.RawMessage) error {
	if err := c.Call(ctx, "projects.meta.update", map[string]any{"id": id, "meta": meta}, nil); err != nil {
		return err
	}
	return c.Call(ctx, "projects.settings.update", map[string]any{"id": id, "settings": map[string]any{
		"groupImages": false, "groupImagesByTagId": nil, "groupImagesSync": false}}, nil)
}

// Projects lists a workspace's projects, optionally those with a given name.
func (c *Client) Projects(ctx context.Context, workspaceID int64, name string) ([]ProjectInfo, error) {
	body := map[string]any{"workspaceId": workspaceID, "filter": []Filter{}}
	if name != "" {
		body["filter"] = []Filter{{Field: "name", Operator: "=", Value: name}}
	}
	return List[ProjectInfo](ctx, c, "projects.list", body)
}

// CreateProject is projects.add of an images project.
func (c *Client) CreateProject(ctx context.Context, workspaceID int64, name, description string, custom map[string]any) (*ProjectInfo, error) {
	var p ProjectInfo
	err := c.Call(ctx, "projects.add", map[string]any{"name": name, "workspaceId": workspaceID,
		"description": description, "type": "images", "customData": custom}, &p)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// SetProjectCustomData is projects.editInfo (it replaces the whole custom data).
func (c *Client) SetProjectCustomData(ctx context.Context, id int64, custom map[string]any) error {
	return c.Call(ctx, "projects.editInfo", map[string]any{"id": id, "customData": custom, "silent": false}, nil)
}

// Datasets lists every dataset of a project (recursive; build the tree from parentId).
func (c *Client) Datasets(ctx context.Context, projectID int64) ([]DatasetInfo, error) {
	return List[DatasetInfo](ctx, c, "datasets.list", map[string]any{"projectId": projectID, "filter": []Filter{}, "recursive": true})
}

// ChildDatasets lists the direct children of parent (nil: top level), as the SDK's
// get_list(project, parent_id) does.
func (c *Client) ChildDatasets(ctx context.Context, projectID int64, parent *int64) ([]DatasetInfo, error) {
	if parent == nil {
		return List[DatasetInfo](ctx, c, "datasets.list", map[string]any{"projectId": projectID, "filter": []Filter{}, "recursive": false})
	}
	return List[DatasetInfo](ctx, c, "datasets.list", map[string]any{"projectId": projectID,
		"filter": []Filter{{Field: "parentId", Operator: "=", Value: *parent}}, "recursive": true})
}

// CreateDataset is datasets.add.
func (c *Client) CreateDataset(ctx context.Context, projectID int64, parent *int64, name, description string, custom map[string]any) (*DatasetInfo, error) {
	var d DatasetInfo
	err := c.Call(ctx, "datasets.add", map[string]any{"projectId": projectID, "name": name, "description": description,
		"parentId": parent, "customData": custom}, &d)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// SetDatasetCustomData is datasets.editInfo.
func (c *Client) SetDatasetCustomData(ctx context.Context, id int64, custom map[string]any) error {
	return c.Call(ctx, "datasets.editInfo", map[string]any{"id": id, "customData": custom}, nil)
}

// Videos lists a dataset's videos.
func (c *Client) Videos(ctx context.Context, datasetID int64) ([]VideoInfo, error) {
	return List[VideoInfo](ctx, c, "videos.list", map[string]any{"datasetId": datasetID, "filter": []Filter{},
		"rawVideoMeta": false, "forceMetadataForLinks": false})
}

// VideoInfo is videos.info with forceMetadataForLinks false (what sampling's URL helper sends).
func (c *Client) VideoInfo(ctx context.Context, id int64) (*VideoInfo, error) {
	var v VideoInfo
	if err := c.Call(ctx, "videos.info", map[string]any{"id": id, "forceMetadataForLinks": false}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// VideoAnnotation is videos.annotations.bulk.info for one video: the server-form
// annotation (§6.2).
func (c *Client) VideoAnnotation(ctx context.Context, datasetID, videoID int64) (json.RawMessage, error) {
	var list []json.RawMessage
	if err := c.Call(ctx, "videos.annotations.bulk.info", map[string]any{"datasetId": datasetID, "videoIds": []int64{videoID}}, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, &Error{Method: "videos.annotations.bulk.info", Status: 200, Message: fmt.Sprintf("no annotation for video %d", videoID)}
	}
	return list[0], nil
}

// DownloadVideo is videos.download: the raw bytes go to w.
func (c *Client) DownloadVideo(ctx context.Context, id int64, w io.Writer) (int64, error) {
	var n int64
	err := c.Download(ctx, "videos.download", map[string]any{"id": id}, func(r io.Reader) error {
		var err error
		n, err = io.CopyBuffer(w, r, make([]byte, 1<<20))
		return err
	})
	return n, err
}

// Images lists a dataset's images.
func (c *Client) Images(ctx context.Context, datasetID int64, filter []Filter) ([]ImageInfo, error) {
	if filter == nil {
		filter = []Filter{}
	}
	return List[ImageInfo](ctx, c, "images.list", map[string]any{"projectId": nil, "datasetId": datasetID, "filter": filter,
		"sort": "id", "sort_order": "asc", "forceMetadataForLinks": true, "recursive": false})
}

// Hash is how the platform names image bytes: base64(sha256) with padding (§2.2).
func Hash(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// HashesKnown is images.internal.hashes.list (at most 900 per request): the
// hashes the server already has.
func (c *Client) HashesKnown(ctx context.Context, hashes []string) (map[string]bool, error) {
	have := map[string]bool{}
	for i := 0; i < len(hashes); i += 900 {
		var got []string
		if err := c.Call(ctx, "images.internal.hashes.list", hashes[i:min(i+900, len(hashes))], &got); err != nil {
			return nil, err
		}
		for _, h := range got {
			have[h] = true
		}
	}
	return have, nil
}

// UploadBytes sends image bytes the server lacks through images.bulk.upload as
// multipart form data, 50 per request, up to 3 rounds (§2.2, step 4).
func (c *Client) UploadBytes(ctx context.Context, data map[string][]byte) error {
	var missing []string
	for h := range data {
		missing = append(missing, h)
	}
	sort.Strings(missing)
	for round := 0; round < 3 && len(missing) > 0; round++ {
		var still []string
		for i := 0; i < len(missing); i += 50 {
			group := missing[i:min(i+50, len(missing))]
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for k, h := range group {
				hdr := textproto.MIMEHeader{}
				hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%d-file"; filename="%d"`, k, k))
				hdr.Set("Content-Type", "image/*")
				pw, err := mw.CreatePart(hdr)
				if err != nil {
					return err
				}
				pw.Write(data[h])
			}
			if err := mw.Close(); err != nil {
				return err
			}
			body := b.Bytes()
			mk := func() ([]byte, error) { return body, nil }
			ct := mw.FormDataContentType()
			var resp []struct {
				Hash   string          `json:"hash"`
				Errors json.RawMessage `json:"errors"`
			}
			if err := c.Post(ctx, "images.bulk.upload", ct, mk, &resp); err != nil {
				return err
			}
			got := map[string]bool{}
			for _, r := range resp {
				if r.Hash != "" {
					got[r.Hash] = true
				}
			}
			for _, h := range group {
				if !got[h] {
					still = append(still, h)
				}
			}
		}
		missing = still
	}
	if len(missing) > 0 {
		return &Error{Method: "images.bulk.upload", Status: 200, Message: fmt.Sprintf("unable to upload images (data): %d still missing after 3 rounds", len(missing))}
	}
	return nil
}

// NewImage is one element of images.bulk.add's images.
type NewImage struct {
	Title string         `json:"title"`
	Hash  string         `json:"hash"`
	Meta  map[string]any `json:"meta,omitempty"`
}

// AddImages is images.bulk.add (at most 50 per call): the infos in request order.
func (c *Client) AddImages(ctx context.Context, datasetID int64, images []NewImage) ([]ImageInfo, error) {
	var out []ImageInfo
	err := c.Call(ctx, "images.bulk.add", map[string]any{"datasetId": datasetID, "images": images,
		"forceMetadataForLinks": true, "skipValidation": false}, &out)
	if err != nil {
		return nil, err
	}
	if len(out) != len(images) {
		return nil, &Error{Method: "images.bulk.add", Status: 200, Message: fmt.Sprintf("%d infos for %d images", len(out), len(images))}
	}
	return out, nil
}

// ImageAnnotation is one element of annotations.bulk.add's annotations.
type ImageAnnotation struct {
	ImageID    int64           `json:"imageId"`
	Annotation json.RawMessage `json:"annotation"`
}
