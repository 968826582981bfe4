package supervisely_test

import (
	"testing"

	sv "github.com/vpipe/vpipe/supervisely"
)

// TestFromSubpixelAsSDK: downloaded image annotations are read as
// Annotation._to_pixel_coordinate_system_json does (values worked out with the
// SDK's rules, reference §2.3): floor, less 1 on the image's far edge, the
// rectangle's 0.3-overlap rounding; and ToSubpixel of vpipe's integer labels
// comes back unchanged.
func TestFromSubpixelAsSDK(t *testing.T) {
	in := `{"size":{"height":100,"width":200},"objects":[
{"geometryType":"rectangle","points":{"exterior":[[50.5,20.29],[10.2,5.8]],"interior":[]}},
{"geometryType":"rectangle","points":{"exterior":[[10.4,5.6],[10.9,5.1]],"interior":[]}},
{"geometryType":"rectangle","points":{"exterior":[[-0.5,-0.5],[3.5,2.5]],"interior":[]}},
{"geometryType":"rectangle","points":{"exterior":[[11,21],[51,61]],"interior":[]}},
{"geometryType":"polygon","points":{"exterior":[[10.2,20.7],[200,100],[199.5,99.5]],"interior":[[[-0.5,0.5],[3,3],[4,1]]]}},
{"geometryType":"point","points":{"exterior":[[200,0.99]],"interior":[]}},
{"geometryType":"bitmap","bitmap":{"origin":[-0.5,3.7],"data":"x"}},
{"geometryType":"graph","nodes":{"a":{"loc":[200,99.5]}}}]}`
	want := `{"objects":[` +
		`{"geometryType":"rectangle","points":{"exterior":[[10,6],[50,19]],"interior":[]}},` +
		`{"geometryType":"rectangle","points":{"exterior":[[10,5],[10,5]],"interior":[]}},` +
		`{"geometryType":"rectangle","points":{"exterior":[[-1,-1],[3,2]],"interior":[]}},` +
		`{"geometryType":"rectangle","points":{"exterior":[[11,21],[50,60]],"interior":[]}},` +
		`{"geometryType":"polygon","points":{"exterior":[[10,20],[199,99],[199,99]],"interior":[[[-1,0],[3,3],[4,1]]]}},` +
		`{"geometryType":"point","points":{"exterior":[[199,0]],"interior":[]}},` +
		`{"bitmap":{"data":"x","origin":[-1,3]},"geometryType":"bitmap"},` +
		`{"geometryType":"graph","nodes":{"a":{"loc":[199,99]}}}],"size":{"height":100,"width":200}}`
	got, err := sv.FromSubpixel([]byte(in))
	if err != nil || string(got) != want {
		t.Errorf("FromSubpixel:\n got %s (%v)\nwant %s", got, err, want)
	}

	pixel := `{"objects":[` +
		`{"geometryType":"rectangle","points":{"exterior":[[0,0],[199,99]],"interior":[]}},` +
		`{"geometryType":"polygon","points":{"exterior":[[0,0],[199,0],[199,99]],"interior":[]}},` +
		`{"geometryType":"line","points":{"exterior":[[0,5],[199,5]],"interior":[]}},` +
		`{"geometryType":"point","points":{"exterior":[[199,99]],"interior":[]}},` +
		`{"bitmap":{"data":"x","origin":[3,4]},"geometryType":"bitmap"},` +
		`{"geometryType":"graph","nodes":{"a":{"loc":[199,0]}}}],"size":{"height":100,"width":200}}`
	sub, err := sv.ToSubpixel([]byte(pixel))
	if err != nil {
		t.Fatal(err)
	}
	back, err := sv.FromSubpixel(sub)
	if err != nil || string(back) != pixel {
		t.Errorf("round trip through %s:\n got %s (%v)\nwant %s", sub, back, err, pixel)
	}
}
