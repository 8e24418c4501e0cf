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
	// 3000 training images with 10 regions in the first
	// "a photo with a tiny gray tube, a black star and a black cone"
	// [2 3 13 14 3 38 27 51]
	// <cls> a photo with a tiny gray tube
}
