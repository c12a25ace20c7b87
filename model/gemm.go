package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// smallGemm is the largest m*n*k done with plain loops: below it the BLAS call overhead
// (and gonum's goroutine fan-out) costs more than the arithmetic.
const smallGemm = 8192

// gemm computes C = alpha op(A) op(B) + beta C for row-major matrices, where op(A) is
// m x k and op(B) is k x n.
func gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	if m*n*k > smallGemm {
		blas64.Gemm(tA, tB, alpha, a, b, beta, c)
		return
	}
	at := func(i, l int) float64 {
		if tA == blas.Trans {
			return a.Data[l*a.Stride+i]
		}
		return a.Data[i*a.Stride+l]
	}
	for i := 0; i < m; i++ {
		row := c.Data[i*c.Stride : i*c.Stride+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for l := 0; l < k; l++ {
			av := alpha * at(i, l)
			if av == 0 {
				continue
			}
			if tB == blas.Trans {
				for j := range row {
					row[j] += av * b.Data[j*b.Stride+l]
				}
			} else {
				brow := b.Data[l*b.Stride : l*b.Stride+n]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
}
