// Package all links every backend into a binary: each package registers its
// sources, sinks, stores, layouts and shared sections in init (package
// registry). cmd/vpipe imports it; so do tests that load configs naming any
// backend. A new backend or layout is one more import here.
package all

import (
	_ "github.com/vpipe/vpipe/layouts/coco"         // layout coco (sink format)
	_ "github.com/vpipe/vpipe/layouts/project"      // layout supervisely (the default sink format)
	_ "github.com/vpipe/vpipe/layouts/webdataset"   // layout webdataset (sink format)
	_ "github.com/vpipe/vpipe/layouts/yolo"         // layout yolo (sink format)
	_ "github.com/vpipe/vpipe/sinks/storesink"      // every store is a sink type
	_ "github.com/vpipe/vpipe/sinks/supervisely"    // sink supervisely
	_ "github.com/vpipe/vpipe/sources/local"        // source local (the default)
	_ "github.com/vpipe/vpipe/sources/storesource"  // a store that says so is a source type
	_ "github.com/vpipe/vpipe/sources/supervisely"  // source supervisely
	_ "github.com/vpipe/vpipe/stores/azblob"        // store azblob (a sink and a source)
	_ "github.com/vpipe/vpipe/stores/gcs"           // store gcs (a sink and a source)
	_ "github.com/vpipe/vpipe/stores/local"         // store local (the default sink)
	_ "github.com/vpipe/vpipe/stores/s3"            // store s3 (a sink and a source)
	_ "github.com/vpipe/vpipe/supervisely/platform" // section supervisely
)
