// Package distill shrinks late-interaction models by knowledge
// distillation, as in "Inflate and Shrink" (Liu, Yu, Li, EMNLP 2021).
//
// A shrink schedule is a chain of stages, such as inflated>base>fast: the
// first stage is trained on the data with the hinge loss, and every later
// stage is a student trained only to match the in-batch score distribution
// of the stage before it, a frozen teacher loaded from its checkpoint. The
// KD loss is bidirectional:
//
//	L = 1/2 CE(softmax_row(tauT S_T), softmax_row(tauS S_S))
//	  + 1/2 CE(softmax_col(tauT S_T), softmax_col(tauS S_S))
//
// Each student starts from fresh transformer layers and takes the teacher's
// embeddings, projection, codes and embedding LayerNorm, frozen, as the
// authors' code does.
//
// A chain's stages are base (n fragments per side: the tokens, or [CLS]
// and the regions), inflated (n+k: tokens and k codes, on both sides or on
// one), fast (1: [CLS]) and cM, a model with M codes per side that keeps
// only its M code outputs. cM stages let a schedule step through any
// number of fragments per side whatever the caption length, so the
// paper's "64>16>4>1" reads, in our sizes (16 text tokens, 1+16 image
// slots, k codes), as inflated>c16>c4>fast: n+k, 16, 4, then 1 fragment
// per side. A cM student starts its codes from the teacher's first M codes
// and trains them (see NewStudent for why).
package distill
