#include "textflag.h"

// func maxArgRowsKernel(n, rows int, p *float32, stride int, bias *float32, best *float32, arg *int32)
// For each of n columns j (n a multiple of 8): best[j] = max over g < rows
// of p[g*stride+j] + bias[g] and arg[j] the first g that attains it,
// eight columns at a time. The comparison is a strict greater-than, as
// in maxArgRowsGo, so ties and NaNs resolve the same way.
TEXT ·maxArgRowsKernel(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ rows+8(FP), R8
	MOVQ p+16(FP), SI
	MOVQ stride+24(FP), R9
	SHLQ $2, R9
	MOVQ bias+32(FP), DI
	MOVQ best+40(FP), BX
	MOVQ arg+48(FP), DX
	SHRQ $3, CX
	JZ   done

cols:
	VBROADCASTSS (DI), Y1
	VADDPS       (SI), Y1, Y0 // best = p[0][j:j+8] + bias[0]
	VPXOR        Y2, Y2, Y2   // arg = 0
	VPXOR        Y5, Y5, Y5   // g = 0 in every lane
	VPCMPEQD     Y6, Y6, Y6   // -1 in every lane
	MOVQ         SI, R10
	MOVQ         $1, R11
	CMPQ         R11, R8
	JGE          store

rowloop:
	ADDQ         R9, R10
	VBROADCASTSS (DI)(R11*4), Y1
	VADDPS       (R10), Y1, Y3 // v = p[g][j:j+8] + bias[g]
	VCMPPS       $0x1e, Y0, Y3, Y4 // v > best (ordered: NaN never wins)
	VBLENDVPS    Y4, Y3, Y0, Y0
	VPSUBD       Y6, Y5, Y5 // g in every lane (no GPR-to-vector move)
	VBLENDVPS    Y4, Y5, Y2, Y2
	INCQ         R11
	CMPQ         R11, R8
	JLT          rowloop

store:
	VMOVUPS Y0, (BX)
	VMOVDQU Y2, (DX)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DX
	DECQ    CX
	JNZ     cols

done:
	VZEROUPPER
	RET

// func axpyKernel(n int, a float32, x, y *float32)
// y[k] += a*x[k] for k < n (n a multiple of 8), a product then a sum as
// in gonum's Saxpy (no fused multiply-add), eight at a time.
TEXT ·axpyKernel(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	VBROADCASTSS a+8(FP), Y0
	MOVQ         x+16(FP), SI
	MOVQ         y+24(FP), DI
	SHRQ         $3, CX
	JZ           axpydone

axpyloop:
	VMULPS  (SI), Y0, Y1
	VADDPS  (DI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     axpyloop

axpydone:
	VZEROUPPER
	RET
