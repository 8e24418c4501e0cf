#include "textflag.h"

// func divKernel(n int, x *float32, s float32)
// x[k] /= s for k < n (n a multiple of 8), eight at a time.
TEXT ·divKernel(SB), NOSPLIT, $0-20
	MOVQ         n+0(FP), CX
	MOVQ         x+8(FP), DI
	VBROADCASTSS s+16(FP), Y1
	SHRQ         $3, CX
	JZ           divdone

divloop:
	VMOVUPS (DI), Y0
	VDIVPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     divloop

divdone:
	VZEROUPPER
	RET

// func lnGradKernel(n int, row, xh *float32, m1, m2, sd float32)
// row[k] = (row[k] - m1 - xh[k]*m2) / sd for k < n (n a multiple of 8),
// in the order of layerNormGradX's loop, eight at a time.
TEXT ·lnGradKernel(SB), NOSPLIT, $0-36
	MOVQ         n+0(FP), CX
	MOVQ         row+8(FP), DI
	MOVQ         xh+16(FP), SI
	VBROADCASTSS m1+24(FP), Y1
	VBROADCASTSS m2+28(FP), Y2
	VBROADCASTSS sd+32(FP), Y3
	SHRQ         $3, CX
	JZ           gdone

gloop:
	VMOVUPS (DI), Y0
	VSUBPS  Y1, Y0, Y0 // row - m1
	VMULPS  (SI), Y2, Y4 // xh * m2
	VSUBPS  Y4, Y0, Y0
	VDIVPS  Y3, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     gloop

gdone:
	VZEROUPPER
	RET
