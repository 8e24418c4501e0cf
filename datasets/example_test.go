package datasets_test

import (
	"fmt"
	"log"

	"github.com/inflateshrink/inflateshrink/datasets"
)

func Example() {
	d, err := datasets.Synthetic(datasets.SyntheticSettings{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Name, d.Protocol, "regions of", d.RegionDim, "values")
	fmt.Println(len(d.Train.Images), "training images with", len(d.Train.Images[0]), "regions in the first")

	v := datasets.BuildVocab(d.Train.Captions)
	c := d.Test.Captions[0]
	fmt.Printf("%q\n", c)
	ids := v.Encode(c, 8)
	fmt.Println(ids)
	for _, id := range ids {
		fmt.Print(v.Word(id), " ")
	}
	fmt.Println()
	// Output:
	// synthetic 1000img-5cap regions of 32 values
	// 3000 training images with 5 regions in the first
	// "a black ball next to a golden box and a little black cone"
	// [2 3 10 50 68 19 3 28]
	// <cls> a black ball next to a golden
}
