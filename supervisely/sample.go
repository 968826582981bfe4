package supervisely

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Tag metas vpipe adds to the output project (§9).
const (
	TagObjectID    = "object_id"
	TagAutoTracked = "auto-tracked"
)

// OutputMeta is the destination project's meta: dst merged with src (the SDK's
// dst.merge(src)), plus object_id (any_number) and auto-tracked (none), both for
// objects only, when absent. A conflict is an error naming the class or tag.
// Colours of the added tags are fixed, so output is reproducible.
func OutputMeta(dst, src *ProjectMeta) (*ProjectMeta, error) {
	if dst == nil {
		dst = &ProjectMeta{}
	}
	out, err := Merge(dst, src)
	if err != nil {
		return nil, err
	}
	if out.ProjectType == "" {
		out.ProjectType = "images"
	}
	for _, t := range []TagMeta{
		{Name: TagObjectID, ValueType: ValueAnyNumber, Color: "#2E86DE", ApplicableType: "objectsOnly"},
		{Name: TagAutoTracked, ValueType: ValueNone, Color: "#F39C12", ApplicableType: "objectsOnly"},
	} {
		if have := out.TagMeta(t.Name); have == nil {
			out.Tags = append(out.Tags, t)
		} else if have.ValueType != t.ValueType {
			return nil, fmt.Errorf("tag %q: value type %s in the project, vpipe needs %s", t.Name, have.ValueType, t.ValueType)
		}
	}
	return out, nil
}

// Sampler turns frames of one video annotation into image annotations.
type Sampler struct {
	ann        *VideoAnnotation
	srcW, srcH int
	objects    map[string]*objRef
	byFrame    map[int][]*Figure
}

type objRef struct {
	obj *VideoObject
	id  json.RawMessage // object_id tag value
}

// NewSampler checks a video annotation against its project meta and the video:
// every object's class exists, every figure's object exists, every frame index is
// inside the video (frames frames). keys may be nil. Errors carry the JSON path.
// srcW×srcH is the size the coordinates refer to when the annotation has none.
func NewSampler(ann *VideoAnnotation, meta *ProjectMeta, keys *KeyIdMap, frames, srcW, srcH int) (*Sampler, error) {
	s := &Sampler{ann: ann, srcW: srcW, srcH: srcH, objects: map[string]*objRef{}, byFrame: map[int][]*Figure{}}
	if ann.Size.Width != nil && ann.Size.Height != nil && *ann.Size.Width > 0 && *ann.Size.Height > 0 {
		s.srcW, s.srcH = *ann.Size.Width, *ann.Size.Height
	}
	for i := range ann.Objects {
		o := &ann.Objects[i]
		if meta.Class(o.ClassTitle) == nil {
			return nil, &PathError{Path: fmt.Sprintf("objects[%d].classTitle", i), Err: fmt.Errorf("class %q is not in the project meta", o.ClassTitle)}
		}
		// object_id: the server id (KeyIdMap, or the server form's id), else the
		// 1-based position in objects, which is stable across frames.
		id := json.RawMessage(strconv.Itoa(i + 1))
		if o.ID != nil {
			id = json.RawMessage(strconv.FormatInt(*o.ID, 10))
		} else if keys != nil {
			if v, ok := keys.Objects[o.Key]; ok && v != nil {
				id = json.RawMessage(strconv.FormatInt(*v, 10))
			}
		}
		ref := o.Key
		if ref == "" {
			ref = "id:" + strconv.FormatInt(*o.ID, 10)
		}
		if _, dup := s.objects[ref]; dup {
			return nil, &PathError{Path: fmt.Sprintf("objects[%d]", i), Err: fmt.Errorf("object %s appears twice", ref)}
		}
		s.objects[ref] = &objRef{obj: o, id: id}
	}
	for fi := range ann.Frames {
		f := &ann.Frames[fi]
		if f.Index >= frames {
			return nil, &PathError{Path: fmt.Sprintf("frames[%d].index", fi), Err: fmt.Errorf("frame %d is beyond the video (%d frames)", f.Index, frames)}
		}
		for gi := range f.Figures {
			g := &f.Figures[gi]
			if _, ok := s.objects[g.ref()]; !ok {
				return nil, &PathError{Path: fmt.Sprintf("frames[%d].figures[%d].%s", fi, gi, g.refKey()), Err: fmt.Errorf("no object %s in objects", g.ref())}
			}
			s.byFrame[f.Index] = append(s.byFrame[f.Index], g)
		}
	}
	for i, t := range ann.Tags {
		if meta.TagMeta(t.Name) == nil {
			return nil, &PathError{Path: fmt.Sprintf("tags[%d].name", i), Err: fmt.Errorf("tag %q is not in the project meta", t.Name)}
		}
	}
	return s, nil
}

func (f *Figure) ref() string {
	if f.ObjectKey != "" {
		return f.ObjectKey
	}
	return "id:" + strconv.FormatInt(*f.ObjectID, 10)
}

func (f *Figure) refKey() string {
	if f.ObjectKey != "" {
		return "objectKey"
	}
	return "objectId"
}

// Annotated tells whether frame i has at least one figure.
func (s *Sampler) Annotated(i int) bool { return len(s.byFrame[i]) > 0 }

// Image builds frame i's image annotation at the output size w×h: one label per
// figure (class of its object, geometry scaled by w/srcW and h/srcH then cropped
// to the image), the object's tags covering i plus object_id and, for tracked
// figures, auto-tracked; image tags are the video tags covering i. Labels that
// cannot be scaled are left out and reported in skipped.
func (s *Sampler) Image(i, w, h int) (ann *ImageAnnotation, skipped []string) {
	ann = &ImageAnnotation{Height: h, Width: w}
	for _, t := range s.ann.Tags {
		if t.Covers(i) {
			ann.Tags = append(ann.Tags, Tag{Name: t.Name, Value: t.Value, LabelerLogin: t.LabelerLogin})
		}
	}
	fx, fy := float64(w)/float64(s.srcW), float64(h)/float64(s.srcH)
	for _, g := range s.byFrame[i] {
		o := s.objects[g.ref()]
		var tags []Tag
		for _, t := range o.obj.Tags {
			if t.Covers(i) {
				tags = append(tags, Tag{Name: t.Name, Value: t.Value, LabelerLogin: t.LabelerLogin})
			}
		}
		tags = append(tags, Tag{Name: TagObjectID, Value: o.id})
		if g.TrackID != nil {
			tags = append(tags, Tag{Name: TagAutoTracked, LabelerLogin: o.obj.LabelerLogin})
		}
		geo := g.Geometry
		if fx != 1 || fy != 1 {
			sg, err := geo.Scale(fx, fy)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("frame %d, figure of object %s: %v", i, g.ref(), err))
				continue
			}
			geo = sg
		}
		for _, piece := range geo.Crop(w, h) {
			ann.Objects = append(ann.Objects, Label{ClassTitle: o.obj.ClassTitle, Tags: tags, Geometry: piece})
		}
	}
	return ann, skipped
}
