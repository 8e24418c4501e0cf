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
package distill
