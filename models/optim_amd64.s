#include "textflag.h"

// func adamwKernel(n int, w, grad, m, v *float32, c *adamwConsts)
// The AdamW update of adamwGo on n elements (n a multiple of 4), four at a
// time in float64 AVX lanes, with the same operations in the same order
// and no fused multiply-adds, so every result is bit-identical to
// adamwGo's. c points to the constants in adamwConsts' field order.
TEXT ·adamwKernel(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ c+40(FP), AX
	VBROADCASTSD 0(AX), Y15  // scale
	VBROADCASTSD 8(AX), Y14  // b1
	VBROADCASTSD 16(AX), Y13 // 1-b1
	VBROADCASTSD 24(AX), Y12 // b2
	VBROADCASTSD 32(AX), Y11 // 1-b2
	VBROADCASTSD 40(AX), Y10 // c1
	VBROADCASTSD 48(AX), Y9  // c2
	VBROADCASTSD 56(AX), Y8  // eps
	VBROADCASTSD 64(AX), Y7  // decay
	VBROADCASTSD 72(AX), Y6  // lr
	VXORPS       X5, X5, X5
	SHRQ         $2, CX
	JZ           done

loop:
	VCVTPS2PD  (SI), Y0  // g
	VMULPD     Y15, Y0, Y0 // gj = g * scale
	VCVTPS2PD  (R8), Y1
	VMULPD     Y14, Y1, Y1 // b1 * m
	VMULPD     Y13, Y0, Y2 // (1-b1) * gj
	VADDPD     Y2, Y1, Y1  // mj
	VCVTPS2PD  (R9), Y2
	VMULPD     Y12, Y2, Y2 // b2 * v
	VMULPD     Y11, Y0, Y3 // (1-b2) * gj
	VMULPD     Y0, Y3, Y3  // (1-b2) * gj * gj
	VADDPD     Y3, Y2, Y2  // vj
	VCVTPD2PSY Y1, X3
	VMOVUPS    X3, (R8)
	VCVTPD2PSY Y2, X3
	VMOVUPS    X3, (R9)
	VDIVPD     Y10, Y1, Y1 // mj / c1
	VDIVPD     Y9, Y2, Y2  // vj / c2
	VSQRTPD    Y2, Y2
	VADDPD     Y8, Y2, Y2  // sqrt(vj / c2) + eps
	VDIVPD     Y2, Y1, Y1  // (mj / c1) / (sqrt(vj / c2) + eps)
	VCVTPS2PD  (DI), Y3    // w
	VMULPD     Y7, Y3, Y4  // decay * w
	VADDPD     Y4, Y1, Y1  // update
	VMULPD     Y6, Y1, Y1  // lr * update
	VSUBPD     Y1, Y3, Y3  // w - lr * update
	VCVTPD2PSY Y3, X3
	VMOVUPS    X3, (DI)
	VMOVUPS    X5, (SI)    // g = 0
	ADDQ       $16, DI
	ADDQ       $16, SI
	ADDQ       $16, R8
	ADDQ       $16, R9
	DECQ       CX
	JNZ        loop

done:
	VZEROUPPER
	RET
