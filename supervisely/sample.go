package supervisely

import (
	"encoding/json"
	"errors"
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

// Video is what a video annotation is checked against and drawn onto.
type Video struct {
	Frames        int // frame count
	Width, Height int // frame size as stored
	// Rotation is the display matrix's clockwise turn (0, 90, 180, 270) that
	// shows a stored frame upright; Upright says the output frames are turned so.
	Rotation int
	Upright  bool
}

// size is the frames' size before resizing: upright or as stored.
func (v Video) size() (w, h int) {
	if v.Upright && (v.Rotation == 90 || v.Rotation == 270) {
		return v.Height, v.Width
	}
	return v.Width, v.Height
}

// Sampler turns frames of one video annotation into image annotations.
type Sampler struct {
	ann        *VideoAnnotation
	srcW, srcH int // the frame the coordinates are drawn on
	turn       int // clockwise degrees from that frame to the output's orientation
	preW, preH int // the output frames before resizing
	crop       Cropper
	objects    map[string]*objRef
	byFrame    map[int][]figRef
}

type objRef struct {
	obj *VideoObject
	id  json.RawMessage // object_id tag value
}

// figRef is a figure with its place in the annotation, for errors.
type figRef struct {
	fig          *Figure
	frame, index int // frames[frame].figures[index]
}

// NewSampler checks a video annotation against its project meta and the video:
// every object's class exists, every figure's object exists, every frame index is
// inside the video, the annotation's size is the video's (stored or upright: its
// coordinates are then in that orientation), and every bitmap's mask fits in
// that frame. keys may be nil. Errors carry the JSON path. An annotation
// without a size is taken to be drawn on the output frames before resizing.
// c crops the polygons and lines that cross an image's border (Cropper).
func NewSampler(ann *VideoAnnotation, meta *ProjectMeta, keys *KeyIdMap, v Video, c Cropper) (*Sampler, error) {
	s := &Sampler{ann: ann, crop: c, objects: map[string]*objRef{}, byFrame: map[int][]figRef{}}
	s.preW, s.preH = v.size()
	s.srcW, s.srcH = s.preW, s.preH
	if ann.Size.Width != nil && ann.Size.Height != nil {
		aw, ah := *ann.Size.Width, *ann.Size.Height
		upright := Video{Width: v.Width, Height: v.Height, Rotation: v.Rotation, Upright: true}
		uw, uh := upright.size()
		out := 0 // the output's turn from the stored orientation
		if v.Upright {
			out = v.Rotation
		}
		switch {
		case aw == s.preW && ah == s.preH: // drawn as the output is oriented
		case aw == v.Width && ah == v.Height: // drawn on the stored frame
			s.turn = out
		case aw == uw && ah == uh: // drawn upright
			s.turn = (out - v.Rotation + 360) % 360
		default:
			also := ""
			if uw != v.Width {
				also = fmt.Sprintf(" (upright %dx%d)", uw, uh)
			}
			return nil, &PathError{Path: "size", Err: fmt.Errorf("%dx%d (width x height) is not the video's size %dx%d%s", aw, ah, v.Width, v.Height, also)}
		}
		s.srcW, s.srcH = aw, ah
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
		if f.Index >= v.Frames {
			return nil, &PathError{Path: fmt.Sprintf("frames[%d].index", fi), Err: fmt.Errorf("frame %d is beyond the video (%d frames)", f.Index, v.Frames)}
		}
		for gi := range f.Figures {
			g := &f.Figures[gi]
			if _, ok := s.objects[g.ref()]; !ok {
				return nil, &PathError{Path: fmt.Sprintf("frames[%d].figures[%d].%s", fi, gi, g.refKey()), Err: fmt.Errorf("no object %s in objects", g.ref())}
			}
			// A mask larger than the frame it is drawn on is no annotation of
			// it; refusing it bounds what decoding one may allocate.
			if b, ok := g.Geometry.(*Bitmap); ok && (b.W > s.srcW || b.H > s.srcH) {
				return nil, &PathError{Path: fmt.Sprintf("frames[%d].figures[%d].geometry.bitmap.data", fi, gi),
					Err: fmt.Errorf("mask %dx%d is larger than the frame %dx%d", b.W, b.H, s.srcW, s.srcH)}
			}
			s.byFrame[f.Index] = append(s.byFrame[f.Index], figRef{g, fi, gi})
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
// figure (class of its object, geometry turned to the output's orientation,
// scaled by w and h over the frame's size, then cropped to the image), the
// object's tags covering i plus object_id and, for tracked figures,
// auto-tracked; image tags are the video tags covering i. Labels that cannot be
// carried over (LeftOut) are left out and reported in skipped; a geometry that
// is invalid (a mask that does not decode or is empty) is an error naming the
// figure. Bitmap masks are decoded here, one figure at a time, and only the
// part inside the image is made.
func (s *Sampler) Image(i, w, h int) (ann *ImageAnnotation, skipped []string, err error) {
	ann = &ImageAnnotation{Height: h, Width: w}
	for _, t := range s.ann.Tags {
		if t.Covers(i) {
			ann.Tags = append(ann.Tags, Tag{Name: t.Name, Value: t.Value, LabelerLogin: t.LabelerLogin})
		}
	}
	tf := &Transform{SrcW: s.srcW, SrcH: s.srcH, Turn: s.turn, FX: float64(w) / float64(s.preW), FY: float64(h) / float64(s.preH), W: w, H: h, Crop: s.crop}
	for _, fr := range s.byFrame[i] {
		g := fr.fig
		o := s.objects[g.ref()]
		pieces, err := tf.Apply(g.Geometry)
		if lo := (*LeftOut)(nil); errors.As(err, &lo) {
			skipped = append(skipped, fmt.Sprintf("frame %d, figure of object %s: %v", i, g.ref(), err))
			continue
		} else if err != nil {
			return nil, skipped, &PathError{Path: fmt.Sprintf("frames[%d].figures[%d].geometry", fr.frame, fr.index), Err: err}
		}
		if len(pieces) == 0 {
			continue
		}
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
		for _, piece := range pieces {
			ann.Objects = append(ann.Objects, Label{ClassTitle: o.obj.ClassTitle, Tags: tags, Geometry: piece})
		}
	}
	return ann, skipped, nil
}
