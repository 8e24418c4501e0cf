package reports

import (
	"strings"
	"testing"
)

func TestTransferSection(t *testing.T) {
	failed := unfinished(run(3, "fast", 1, 50, 1, 1), "failed", "boom")
	db := openFixture(t, []Row{run(1, "base", 1, 100, 16, 1), run(2, "inflated", 1, 120, 36, 2), failed}, nil)
	add := func(id int, split, name string, v any) {
		if _, err := db.Exec(`INSERT INTO results VALUES(?,?,?,?)`, id, split, name, v); err != nil {
			t.Fatal(err)
		}
	}
	// No transfer results: no section.
	add(1, "test", "i2t_r1", 50)
	if s, err := TransferSection(db, "paper"); err != nil || s != "" {
		t.Fatalf("got %q, %v; want no section", s, err)
	}
	for id, r1 := range map[int]float64{1: 1.25, 2: 2.5, 3: 9} {
		add(id, "transfer:tux", "i2t_r1", r1)
		add(id, "transfer:tux", "rsum", 10*r1)
		add(id, "transfer:tux", "chance_rsum", 0.0123)
		add(id, "transfer:tux", "n_images", 950)
		add(id, "transfer:tux", "n_captions", 950)
	}
	add(2, "transfer:tux", "t2i_r1", nil)
	s, err := TransferSection(db, "paper")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Transfer",
		"### tux\n\n950 images, 950 captions.",
		"| base | 1 | 1.2 | n/a | n/a | n/a | n/a | n/a | 12.5 | 0.0123 |",
		"| inflated | 1 | 2.5 | n/a | n/a | n/a | n/a | n/a | 25.0 | 0.0123 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "| fast |") {
		t.Errorf("a failed run is listed:\n%s", s)
	}
	if _, err := TransferSection(db, "other"); err != nil {
		t.Error(err)
	}
}
