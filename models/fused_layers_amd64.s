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

// func reluKernel(n int, y *float32)
// y[k] = max(y[k], 0) with Go's max semantics (a NaN stays, -0 becomes
// +0) for k < n (n a multiple of 8): MAXPS(0, y) returns y unless 0 > y,
// NaN included, and adding +0 turns -0 into +0 and leaves all else.
TEXT ·reluKernel(SB), NOSPLIT, $0-16
	MOVQ  n+0(FP), CX
	MOVQ  y+8(FP), DI
	VXORPS Y1, Y1, Y1
	SHRQ  $3, CX
	JZ    reludone

reluloop:
	VMOVUPS (DI), Y0
	VMAXPS  Y0, Y1, Y2 // Intel: max(src1 = 0, src2 = y)
	VADDPS  Y1, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     reluloop

reludone:
	VZEROUPPER
	RET

// func reluGradKernel(n int, d, y, grad *float32)
// d[k] = g[k] where the bits of y[k] are not all zero, else +0, for
// k < n (n a multiple of 8): reluGrad32's mask, eight at a time.
TEXT ·reluGradKernel(SB), NOSPLIT, $0-32
	MOVQ  n+0(FP), CX
	MOVQ  d+8(FP), DI
	MOVQ  y+16(FP), SI
	MOVQ  grad+24(FP), DX
	VPXOR Y1, Y1, Y1
	SHRQ  $3, CX
	JZ    rgdone

rgloop:
	VMOVDQU  (SI), Y0
	VPCMPEQD Y1, Y0, Y0 // all ones where y's bits are zero
	VPANDN   (DX), Y0, Y0 // g where y's bits are not zero
	VMOVDQU  Y0, (DI)
	ADDQ     $32, DI
	ADDQ     $32, SI
	ADDQ     $32, DX
	DECQ     CX
	JNZ      rgloop

rgdone:
	VZEROUPPER
	RET

// func affineKernel(n int, y, x, g, b *float32)
// y[k] = x[k]*g[k] + b[k] (a product, then a sum) for k < n (n a
// multiple of 8), eight at a time.
TEXT ·affineKernel(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ y+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ gain+24(FP), DX
	MOVQ b+32(FP), BX
	SHRQ $3, CX
	JZ   affdone

affloop:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VADDPS  (BX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, BX
	DECQ    CX
	JNZ     affloop

affdone:
	VZEROUPPER
	RET
