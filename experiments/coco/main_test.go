package main

import (
	"testing"

	"github.com/inflateshrink/inflateshrink/internal/exptest"
)

// TestExperiment: the authors' sizes on coco, every model of the paper's
// table and its ends; the sweep runs at a toy size.
func TestExperiment(t *testing.T) { exptest.PaperScale(t, experiment(), "coco") }
