package reports

import (
	"strings"
	"testing"
)

// TestRecipeSection: the differences from the authors' recipe are read
// from the finished runs' params: a departing setting is listed with
// every value used, a matching one is not, codes count for inflated
// stages only, and the initialisation is named.
func TestRecipeSection(t *testing.T) {
	authors := func() map[string]string {
		p := map[string]string{}
		for _, s := range authorsRecipe {
			p[s.key] = s.value
		}
		return p
	}
	fromScratch := authors()
	fromScratch["train.learning_rate"] = "0.001"
	fromScratch["codes"] = "0" // base ignores the codes
	inflated := authors()
	inflated["train.learning_rate"], inflated["dim"], inflated["init.bert"] = "0.002", "64", "/bert"
	failed := authors()
	failed["train.margin"] = "0.2"
	rows := []Row{
		{Model: "base", Dataset: "coco", Status: "finished", Params: fromScratch},
		{Model: "inflated", Dataset: "coco", Status: "finished", Params: inflated},
		{Model: "fast", Dataset: "coco", Status: "failed", Params: failed},
	}
	if !isPaperData(rows) || isPaperData([]Row{{Dataset: "synthetic"}}) {
		t.Fatal("isPaperData does not tell coco from synthetic")
	}
	got := recipeSection(rows)
	for _, want := range []string{
		"| `train.learning_rate` | 0.0001 | 0.001, 0.002 |",
		"| `dim` | 768 | 64, 768 |",
		"| `init.bert` | BERT-base's first 3 layers",
		"Started from BERT: /bert",
		"float32",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"`codes`", "`train.margin`", "`heads`"} {
		if strings.Contains(got, not) {
			t.Errorf("section lists %s, which no finished run departs from:\n%s", not, got)
		}
	}
}
