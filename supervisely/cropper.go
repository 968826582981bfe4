package supervisely

import "errors"

// Cropper crops a polygon or a line that crosses the image's border to the
// w×h image, as the SDK's Label.crop → Polygon.crop / Polyline.crop do
// (reference §5; shapely, that is GEOS): none, one or several pieces. A
// polygon that cannot be carried over is a *LeftOut error. Transform asks it
// only for a polygon whose exterior, or a line of which a point, lies outside
// the image; one inside is kept as it is. This package has no cgo: the
// Cropper vpipe uses is supervisely/crop's GEOS.
type Cropper interface {
	CropPolygon(p *Polygon, w, h int) ([]Geometry, error)
	CropLine(l *Line, w, h int) ([]Geometry, error)
}

// errNoCropper is a polygon or line crossing the border met by a Transform
// that has no Cropper: a mistake in the caller, never a label left out.
var errNoCropper = errors.New("no Cropper to crop a polygon or line crossing the image border (see supervisely/crop)")

// crop is Label.crop + Polygon.crop at the transform's image: a polygon whose
// exterior lies inside is kept as it is; any other goes to t.Crop.
func (p *Polygon) crop(t *Transform) ([]Geometry, error) {
	if allInside(p.Exterior, t.W, t.H) {
		return []Geometry{p}, nil
	}
	if t.Crop == nil {
		return nil, errNoCropper
	}
	return t.Crop.CropPolygon(p, t.W, t.H)
}

// crop is Label.crop + Polyline.crop at the transform's image: a line inside
// is kept as it is; any other goes to t.Crop.
func (l *Line) crop(t *Transform) ([]Geometry, error) {
	if allInside(l.Points, t.W, t.H) {
		return []Geometry{l}, nil
	}
	if t.Crop == nil {
		return nil, errNoCropper
	}
	return t.Crop.CropLine(l, t.W, t.H)
}
