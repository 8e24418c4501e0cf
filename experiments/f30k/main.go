// Command f30k is the paper's main experiment on Flickr30K at the authors'
// sizes (framework.PaperConfig: d = 768, 12 heads, 3 shared layers, 32
// tokens, 32 regions, k = 32, batch 128, 40 epochs, x0.1 at 20): the five
// models, the shrink chain through 16 and 4 codes, and the cross encoder
// re-ranking fast's top 20, over three seeds (every configuration's first
// seed trains before any second one). The test split is Flickr30K's 1K
// images (the paper's protocol).
//
// It needs SCAN's precomputed features (data/f30k_precomp under
// $INFLATESHRINK_SCAN; README, "Real data") and, at these sizes, a GPU
// (-device cuda with a -tags gpu build; README, "Paper scale", gives the
// expected time per epoch). The authors start from BERT-base's first 3
// layers: add -set init.bert=DIR (a Hugging Face bert-base-uncased folder;
// README, "Paper scale", says how to fetch it) -set
// train.learning_rate=0.0001. A CPU smoke run at small sizes:
//
//	go run ./experiments/f30k -set dim=64 -set heads=4 -set ff_dim=128 -set layers=1 \
//	    -set codes=4 -set train.batch_size=32 -set train.epochs=2 -set train.decay_epoch=1 -seed 1
package main

import "github.com/inflateshrink/inflateshrink/framework"

func main() { framework.Main(experiment()) }

func experiment() framework.Experiment {
	return framework.Experiment{
		Name:    "f30k",
		Dataset: "f30k",
		Base:    framework.PaperConfig(),
		Sweep: framework.Sweep{
			Models: framework.PaperModels(),
			Seeds:  []int64{1, 2, 3},
		},
	}
}
