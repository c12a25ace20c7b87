//go:build amd64 && !purego

package linalg

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x8(kc int, a, b, ab *float64)

//go:noescape
func kernel12x16(kc int, a, b, ab *float64)

// microKernels lists the register-blocked kernels this CPU runs, best first: AVX-512
// (12 x 16 in 24 zmm accumulators) and AVX2 with FMA (6 x 8 in 12 ymm accumulators).
func microKernels() []microKernel {
	var ks []microKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		ks = append(ks, microKernel{"avx512 12x16", 12, 16, kernel12x16})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, microKernel{"avx2 6x8", 6, 8, kernel6x8})
	}
	return ks
}
