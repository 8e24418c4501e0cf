// Package all registers every real data set with datasets.Load: import it
// for its side effect,
//
//	import _ "github.com/inflateshrink/inflateshrink/datasets/all"
//
// The sets must be set up before they load (see datasets/setup).
package all

import (
	_ "github.com/inflateshrink/inflateshrink/datasets/emoji"
	_ "github.com/inflateshrink/inflateshrink/datasets/scan"
	_ "github.com/inflateshrink/inflateshrink/datasets/tuxpaint"
)
