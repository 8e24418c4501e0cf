#include "textflag.h"

// Constants of Go's math.Exp on amd64 (src/math/exp_amd64.s), whose
// AVX/FMA path expKernel repeats four lanes at a time.
DATA expdata<>+0(SB)/8, $0.5
DATA expdata<>+8(SB)/8, $1.0
DATA expdata<>+16(SB)/8, $2.0
DATA expdata<>+24(SB)/8, $1.6666666666666666667e-1
DATA expdata<>+32(SB)/8, $4.1666666666666666667e-2
DATA expdata<>+40(SB)/8, $8.3333333333333333333e-3
DATA expdata<>+48(SB)/8, $1.3888888888888888889e-3
DATA expdata<>+56(SB)/8, $1.9841269841269841270e-4
DATA expdata<>+64(SB)/8, $2.4801587301587301587e-5
DATA expdata<>+72(SB)/8, $1.4426950408889634073599246810018920    // log2(e)
DATA expdata<>+80(SB)/8, $0.69314718055966295651160180568695068359375 // ln 2, upper part
DATA expdata<>+88(SB)/8, $0.28235290563031577122588448175013436025525412068e-12 // ln 2, lower part
DATA expdata<>+96(SB)/8, $0.0625
DATA expdata<>+104(SB)/8, $-700.0
DATA expdata<>+112(SB)/8, $700.0
DATA expdata<>+120(SB)/8, $1023
GLOBL expdata<>(SB), RODATA, $128

// func expKernel(n int, x *float32, m float32) int
// For groups of four k < n (n a multiple of 4): x[k] = float32(exp(
// float64(x[k] - m))), exp being math.Exp's amd64 FMA path, so each result
// has math.Exp's bits. It stops before the first group with an argument
// outside [-700, 700] (or NaN), where math.Exp takes other branches, and
// returns how many elements it did.
TEXT ·expKernel(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	MOVQ         x+8(FP), DI
	VBROADCASTSS m+16(FP), X15
	XORQ         AX, AX
	VBROADCASTSD expdata<>+104(SB), Y14 // -700
	VBROADCASTSD expdata<>+112(SB), Y13 // 700
	VBROADCASTSD expdata<>+72(SB), Y12  // log2(e)
	VBROADCASTSD expdata<>+80(SB), Y11  // ln 2 upper
	VBROADCASTSD expdata<>+88(SB), Y10  // ln 2 lower
	VBROADCASTSD expdata<>+16(SB), Y9   // 2
	VBROADCASTSD expdata<>+8(SB), Y8    // 1
	VPBROADCASTQ expdata<>+120(SB), Y7  // exponent bias

loop:
	CMPQ      AX, CX
	JGE       done
	VMOVUPS   (DI)(AX*4), X0
	VSUBPS    X15, X0, X0 // x - m in float32
	VCVTPS2PD X0, Y0
	VCMPPD    $0x1d, Y14, Y0, Y1 // x >= -700 (false for NaN)
	VCMPPD    $0x12, Y13, Y0, Y2 // x <= 700
	VANDPD    Y2, Y1, Y1
	VMOVMSKPD Y1, BX
	CMPQ      BX, $15
	JNE       done

	VMULPD      Y12, Y0, Y1 // x * log2(e)
	VCVTPD2DQY  Y1, X3      // exponent, rounded to nearest
	VCVTDQ2PD   X3, Y1
	VFNMADD231PD Y11, Y1, Y0 // x -= e * ln2 upper
	VFNMADD231PD Y10, Y1, Y0 // x -= e * ln2 lower
	VBROADCASTSD expdata<>+96(SB), Y2
	VMULPD      Y2, Y0, Y0 // x *= 1/16
	VBROADCASTSD expdata<>+64(SB), Y1
	VBROADCASTSD expdata<>+56(SB), Y2
	VFMADD213PD Y2, Y0, Y1 // p = p*x + c
	VBROADCASTSD expdata<>+48(SB), Y2
	VFMADD213PD Y2, Y0, Y1
	VBROADCASTSD expdata<>+40(SB), Y2
	VFMADD213PD Y2, Y0, Y1
	VBROADCASTSD expdata<>+32(SB), Y2
	VFMADD213PD Y2, Y0, Y1
	VBROADCASTSD expdata<>+24(SB), Y2
	VFMADD213PD Y2, Y0, Y1
	VBROADCASTSD expdata<>+0(SB), Y2
	VFMADD213PD Y2, Y0, Y1
	VFMADD213PD Y8, Y0, Y1
	VMULPD      Y1, Y0, Y0
	VADDPD      Y9, Y0, Y1 // four squarings of (1 + x): x = x * (x + 2)
	VMULPD      Y1, Y0, Y0
	VADDPD      Y9, Y0, Y1
	VMULPD      Y1, Y0, Y0
	VADDPD      Y9, Y0, Y1
	VMULPD      Y1, Y0, Y0
	VADDPD      Y9, Y0, Y1
	VFMADD213PD Y8, Y1, Y0 // x = x * (x + 2) + 1
	VPMOVSXDQ   X3, Y3     // 2^e as a float64: (e + 1023) << 52
	VPADDQ      Y7, Y3, Y3
	VPSLLQ      $52, Y3, Y3
	VMULPD      Y3, Y0, Y0
	VCVTPD2PSY  Y0, X0
	VMOVUPS     X0, (DI)(AX*4)
	ADDQ        $4, AX
	JMP         loop

done:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET
