// Command schedules compares ways of shrinking the inflated model to a
// 1x1 dual encoder, over three seeds on the synthetic set:
//
//	go run ./experiments/schedules [-workers 1] [framework flags]
//
// It sweeps three things:
//   - schedules, as fragments per side (16 text tokens, 1+16 image slots,
//     k = 4): inflated>fast (n+k>1, direct), inflated>base>fast (n+k>n>1,
//     the authors'), inflated>c16>c4>fast (n+k>16>4>1, gradual, through
//     code-only stages: see package distill), and base>fast (n>1,
//     shrinking without inflating), beside fast trained on the data;
//   - KD temperatures (teacher/student) of the direct chain: 16/16, 2/16
//     (the authors' choice for a 1x1 student), 1/1;
//   - the first stage's loss: the authors' L8 hinge, VSE++'s hardest
//     negative, InfoNCE, each then shrunk directly to 1x1.
//
// Sizes: the default recipe's 20 epochs, three seeds. Measured sizes are
// in the README's Sweeps section.
package main

import "github.com/inflateshrink/inflateshrink/framework"

func main() { framework.Main(experiment()) }

func experiment() framework.Experiment {
	base := framework.DefaultConfig()
	return framework.Experiment{
		Name: "schedules",
		Base: base,
		Sweep: framework.Sweep{
			Models: []string{"fast", "inflated>base>fast", "inflated>c16>c4>fast", "base>fast"},
			Seeds:  []int64{1, 2, 3},
		},
		More: []framework.Sweep{
			{Models: []string{"inflated>fast"}, KDTemps: []framework.KDTemps{{Teacher: 16, Student: 16}, {Teacher: 2, Student: 16}, {Teacher: 1, Student: 1}}},
			{Models: []string{"inflated>fast"}, KDTemps: []framework.KDTemps{{Teacher: 2, Student: 16}}, Losses: []string{"vse++", "infonce"}},
		},
	}
}
