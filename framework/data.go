package framework

// Every real data set registers itself with package datasets when
// imported, so that experiments select them by name (-data emoji-style).
import _ "github.com/inflateshrink/inflateshrink/datasets/all"
