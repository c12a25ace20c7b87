//go:build amd64 && !purego

#include "textflag.h"

// GATHER_ARGS loads the arguments of the gather kernels: DI = out, SI = w, R8 = stride in
// bytes, R9 = idx, R10 = val, CX = n.
#define GATHER_ARGS \
	MOVQ out+0(FP), DI; \
	MOVQ w+8(FP), SI; \
	MOVQ stride+16(FP), R8; \
	SHLQ $3, R8; \
	MOVQ idx+24(FP), R9; \
	MOVQ val+32(FP), R10; \
	MOVQ n+40(FP), CX

// ROW_FMA4 adds Y8 times four vectors of the row at BX (byte offsets a..d) to r0..r3.
#define ROW_FMA4(a, b, c, d, r0, r1, r2, r3) \
	VFMADD231PD a(BX), Y8, r0; \
	VFMADD231PD b(BX), Y8, r1; \
	VFMADD231PD c(BX), Y8, r2; \
	VFMADD231PD d(BX), Y8, r3

// func axpyAVX(a float64, x, y []float64)
// y[i] += a * x[i], len(x) == len(y) >= 8.
TEXT ·axpyAVX(SB), NOSPLIT, $0-56
	VBROADCASTSD a+0(FP), Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
	MOVQ CX, BX
	SHRQ $4, BX             // blocks of 16
	JZ   tail4
loop16:
	VMOVUPD (SI), Y1
	VMOVUPD 32(SI), Y2
	VMOVUPD 64(SI), Y3
	VMOVUPD 96(SI), Y4
	VFMADD213PD (DI), Y0, Y1   // Y1 = Y0*Y1 + (DI)
	VFMADD213PD 32(DI), Y0, Y2
	VFMADD213PD 64(DI), Y0, Y3
	VFMADD213PD 96(DI), Y0, Y4
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	VMOVUPD Y3, 64(DI)
	VMOVUPD Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  loop16
tail4:
	ANDQ $15, CX
	MOVQ CX, BX
	SHRQ $2, BX
	JZ   tail1
loop4:
	VMOVUPD (SI), Y1
	VFMADD213PD (DI), Y0, Y1
	VMOVUPD Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ BX
	JNZ  loop4
tail1:
	ANDQ $3, CX
	JZ   done
loop1:
	VMOVSD (SI), X1
	VFMADD213SD (DI), X0, X1
	VMOVSD X1, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  loop1
done:
	VZEROUPPER
	RET

// func dotAVX(x, y []float64) float64
TEXT ·dotAVX(SB), NOSPLIT, $0-56
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   dtail4
dloop16:
	VMOVUPD (SI), Y4
	VMOVUPD 32(SI), Y5
	VMOVUPD 64(SI), Y6
	VMOVUPD 96(SI), Y7
	VFMADD231PD (DI), Y4, Y0
	VFMADD231PD 32(DI), Y5, Y1
	VFMADD231PD 64(DI), Y6, Y2
	VFMADD231PD 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  dloop16
dtail4:
	ANDQ $15, CX
	MOVQ CX, BX
	SHRQ $2, BX
	JZ   dreduce
dloop4:
	VMOVUPD (SI), Y4
	VFMADD231PD (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ BX
	JNZ  dloop4
dreduce:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	ANDQ $3, CX
	JZ   ddone
dloop1:
	VMOVSD (SI), X4
	VFMADD231SD (DI), X4, X0
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  dloop1
ddone:
	VZEROUPPER
	MOVSD X0, ret+48(FP)
	RET

// func gatherAxpy32AVX(out, w *float64, stride int, idx *int32, val *float64, n int)
// out[0:32] += sum_{p<n} val[p] * w[idx[p]*stride : idx[p]*stride+32], in order of p,
// with the 32 sums held in eight registers (stride in elements).
TEXT ·gatherAxpy32AVX(SB), NOSPLIT, $0-48
	GATHER_ARGS
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	VMOVUPD 128(DI), Y4
	VMOVUPD 160(DI), Y5
	VMOVUPD 192(DI), Y6
	VMOVUPD 224(DI), Y7
	TESTQ CX, CX
	JZ   g32store
g32loop:
	MOVLQSX (R9), AX
	IMULQ R8, AX
	LEAQ (SI)(AX*1), BX
	VBROADCASTSD (R10), Y8
	ROW_FMA4(0, 32, 64, 96, Y0, Y1, Y2, Y3)
	ROW_FMA4(128, 160, 192, 224, Y4, Y5, Y6, Y7)
	ADDQ $4, R9
	ADDQ $8, R10
	DECQ CX
	JNZ  g32loop
g32store:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VMOVUPD Y4, 128(DI)
	VMOVUPD Y5, 160(DI)
	VMOVUPD Y6, 192(DI)
	VMOVUPD Y7, 224(DI)
	VZEROUPPER
	RET

// func gatherAxpy4AVX(out, w *float64, stride int, idx *int32, val *float64, n int)
// As gatherAxpy32AVX for 4 columns.
TEXT ·gatherAxpy4AVX(SB), NOSPLIT, $0-48
	GATHER_ARGS
	VMOVUPD 0(DI), Y0
	TESTQ CX, CX
	JZ   g4store
g4loop:
	MOVLQSX (R9), AX
	IMULQ R8, AX
	VBROADCASTSD (R10), Y8
	VFMADD231PD (SI)(AX*1), Y8, Y0
	ADDQ $4, R9
	ADDQ $8, R10
	DECQ CX
	JNZ  g4loop
g4store:
	VMOVUPD Y0, 0(DI)
	VZEROUPPER
	RET
