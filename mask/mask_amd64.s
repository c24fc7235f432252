//go:build !purego

#include "textflag.h"

// Register use in both routines:
//	DI  next byte to mask
//	BX  bytes left
//	AX  key word for DI: k rotated right by 8*pos, so that byte 0 of AX
//	    masks byte 0 at DI
//	DX  key word for the last 4/8/16/32 bytes: k rotated right by
//	    8*(pos+n), because the key index of b[n-w] is (pos+n-w)&3 =
//	    (pos+n)&3 for w a multiple of 4
//	SI  end of b
//	R10 start of b, when the AVX2 loop is aligned
//
// The last, possibly partial, block is loaded and masked before any store,
// then stored at the very end. It may overlap bytes the block loop has
// already written; both computed the same value from the original bytes, so
// the overlap is harmless, and no byte loop is needed for lengths >= 4.

// func apply(b []byte, k uint32, pos int)
TEXT ·apply(SB), NOSPLIT, $0-40
	CMPB ·hasAVX2(SB), $0
	JEQ  sse2
	JMP  ·maskAVX2(SB)
sse2:
	JMP  ·maskSSE2(SB)

// SMALL handles 0 <= BX < 16 bytes with general-purpose registers.
#define SMALL(lbl4, lbl1, done) \
	CMPQ BX, $8 \
	JB   lbl4 \
	MOVQ AX, R8 \
	SHLQ $32, R8 \
	ORQ  R8, AX \
	MOVQ DX, R8 \
	SHLQ $32, R8 \
	ORQ  R8, DX \
	MOVQ -8(DI)(BX*1), R9 \
	XORQ DX, R9 \
	XORQ AX, (DI) \
	MOVQ R9, -8(DI)(BX*1) \
	RET \
lbl4: \
	CMPQ BX, $4 \
	JB   lbl1 \
	MOVL -4(DI)(BX*1), R9 \
	XORL DX, R9 \
	XORL AX, (DI) \
	MOVL R9, -4(DI)(BX*1) \
	RET \
lbl1: \
	TESTQ BX, BX \
	JEQ   done \
	XORB  AL, (DI) \
	CMPQ  BX, $2 \
	JB    done \
	XORB  AH, 1(DI) \
	CMPQ  BX, $3 \
	JB    done \
	SHRL  $16, AX \
	XORB  AL, 2(DI) \
done: \
	RET

// func maskSSE2(b []byte, k uint32, pos int)
TEXT ·maskSSE2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), DI
	MOVQ b_len+8(FP), BX
	MOVL k+24(FP), AX
	MOVL AX, DX
	MOVQ pos+32(FP), CX
	SHLL $3, CX
	RORL CX, AX                // rotation counts are taken mod 32
	MOVQ pos+32(FP), CX
	ADDQ BX, CX
	SHLL $3, CX
	RORL CX, DX
	CMPQ BX, $16
	JB   small

	MOVQ   AX, X0
	PSHUFL $0, X0, X0
	MOVQ   DX, X1
	PSHUFL $0, X1, X1
	LEAQ   (DI)(BX*1), SI
	MOVOU  -16(SI), X2
	PXOR   X1, X2
	CMPQ   BX, $64
	JB     loop16

loop64:
	MOVOU (DI), X3
	MOVOU 16(DI), X4
	MOVOU 32(DI), X5
	MOVOU 48(DI), X6
	PXOR  X0, X3
	PXOR  X0, X4
	PXOR  X0, X5
	PXOR  X0, X6
	MOVOU X3, (DI)
	MOVOU X4, 16(DI)
	MOVOU X5, 32(DI)
	MOVOU X6, 48(DI)
	ADDQ  $64, DI
	SUBQ  $64, BX
	CMPQ  BX, $64
	JAE   loop64

loop16:
	CMPQ  BX, $16
	JB    last
	MOVOU (DI), X3
	PXOR  X0, X3
	MOVOU X3, (DI)
	ADDQ  $16, DI
	SUBQ  $16, BX
	JMP   loop16

last:
	MOVOU X2, -16(SI)
	RET

small:
	SMALL(small4, small1, done)

// func maskAVX2(b []byte, k uint32, pos int)
TEXT ·maskAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), DI
	MOVQ b_len+8(FP), BX
	MOVL k+24(FP), AX
	MOVL AX, DX
	MOVQ pos+32(FP), CX
	SHLL $3, CX
	RORL CX, AX                // rotation counts are taken mod 32
	MOVQ pos+32(FP), CX
	ADDQ BX, CX
	SHLL $3, CX
	RORL CX, DX
	CMPQ BX, $16
	JB   small
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0
	VMOVD        DX, X1
	VPBROADCASTD X1, Y1
	CMPQ         BX, $32
	JB           mid

	LEAQ (DI)(BX*1), SI
	VPXOR -32(SI), Y1, Y2
	CMPQ BX, $256
	JAE  align
	CMPQ BX, $128
	JB   loop32

loop128:
	VPXOR   (DI), Y0, Y3
	VPXOR   32(DI), Y0, Y4
	VPXOR   64(DI), Y0, Y5
	VPXOR   96(DI), Y0, Y6
	VMOVDQU Y3, (DI)
	VMOVDQU Y4, 32(DI)
	VMOVDQU Y5, 64(DI)
	VMOVDQU Y6, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, BX
	CMPQ    BX, $128
	JAE     loop128

loop32:
	CMPQ    BX, $32
	JB      last
	VPXOR   (DI), Y0, Y3
	VMOVDQU Y3, (DI)
	ADDQ    $32, DI
	SUBQ    $32, BX
	JMP     loop32

last:
	VMOVDQU Y2, -32(SI)
	VZEROUPPER
	RET

align:
	// n >= 256: make the stores 32-byte aligned. The first 32 bytes are
	// loaded and masked now (in Y7) and stored at the end, like the last
	// 32; the loop starts at the next 32-byte boundary, advancing the key
	// by as many bytes as DI moved.
	VPXOR        (DI), Y0, Y7
	MOVQ         DI, R10
	MOVQ         DI, CX
	NEGQ         CX
	ANDQ         $31, CX
	ADDQ         CX, DI
	SUBQ         CX, BX
	SHLL         $3, CX
	RORL         CX, AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0

aloop128:
	VPXOR   (DI), Y0, Y3
	VPXOR   32(DI), Y0, Y4
	VPXOR   64(DI), Y0, Y5
	VPXOR   96(DI), Y0, Y6
	VMOVDQA Y3, (DI)
	VMOVDQA Y4, 32(DI)
	VMOVDQA Y5, 64(DI)
	VMOVDQA Y6, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, BX
	CMPQ    BX, $128
	JAE     aloop128

aloop32:
	CMPQ    BX, $32
	JB      alast
	VPXOR   (DI), Y0, Y3
	VMOVDQA Y3, (DI)
	ADDQ    $32, DI
	SUBQ    $32, BX
	JMP     aloop32

alast:
	VMOVDQU Y2, -32(SI)
	VMOVDQU Y7, (R10)
	VZEROUPPER
	RET

mid:
	// 16 <= n < 32: two overlapping 16-byte blocks.
	VPXOR   -16(DI)(BX*1), X1, X2
	VPXOR   (DI), X0, X3
	VMOVDQU X3, (DI)
	VMOVDQU X2, -16(DI)(BX*1)
	VZEROUPPER
	RET

small:
	SMALL(small4, small1, done)

// func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL subleaf+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() (eax, edx uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
