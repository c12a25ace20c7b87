package linalg

import (
	"runtime"

	"github.com/sgdlab/sgdlab/fault"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Matrix is a row-major matrix view (field for field the same as blas64.General).
type Matrix struct {
	Rows, Cols int
	Data       []float64
	Stride     int
}

// M returns a dense rows x cols view of data.
func M(rows, cols int, data []float64) Matrix {
	return Matrix{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// Row returns row i.
func (m Matrix) Row(i int) []float64 { return m.Data[i*m.Stride : i*m.Stride+m.Cols] }

// BLASThreshold is the size m*n*k from which Gemm hands products to the BLAS in use when
// UseBLAS is set (the openblas build sets both: OpenBLAS's blocked, multithreaded kernels
// beat the row-wise ones below from a few tens of thousands of multiply-adds on).
var BLASThreshold = 1 << 24

// UseBLAS routes large products to blas64.
var UseBLAS = false

// parThreshold is the amount of work (multiply-adds) from which kernels split over
// goroutines; below it the synchronisation costs more than it saves.
const parThreshold = 1 << 22

// Gemm computes C = alpha op(A) op(B) + beta C with op(X) = X or X^T. Each row of C is
// computed by one goroutine in a fixed order, so the result does not depend on how many
// goroutines ran (large products use up to GOMAXPROCS of them).
func Gemm(transA, transB bool, alpha float64, a, b Matrix, beta float64, c Matrix) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if transA {
		k = a.Rows
	}
	work := m * n * k
	if UseBLAS && work >= BLASThreshold {
		ta, tb := blas.NoTrans, blas.NoTrans
		if transA {
			ta = blas.Trans
		}
		if transB {
			tb = blas.Trans
		}
		blas64.Gemm(ta, tb, alpha, blas64.General(a), blas64.General(b), beta, blas64.General(c))
		return
	}
	if k := kernelFor(m, n, k); k != nil && work >= packedMin {
		gemmPacked(k, transA, transB, alpha, a, b, beta, c)
		return
	}
	if work < parThreshold || m < 16 {
		gemmRows(transA, transB, alpha, a, b, beta, c, 0, m) // no closure: no allocation
		return
	}
	split(m, work, func(r0, r1 int) { gemmRows(transA, transB, alpha, a, b, beta, c, r0, r1) })
}

// split runs fn over [0, n) in contiguous parts on up to GOMAXPROCS goroutines when work
// is large enough. Parts never share an output element, so the result is the same for any
// number of parts.
func split(n, work int, fn func(lo, hi int)) {
	threads := 1
	if work >= parThreshold && n >= 16 {
		threads = min(runtime.GOMAXPROCS(0), n/8)
	}
	if threads <= 1 {
		fn(0, n)
		return
	}
	var grp fault.Group
	per := (n + threads - 1) / threads
	for lo := per; lo < n; lo += per {
		grp.Go(func() { fn(lo, min(lo+per, n)) })
	}
	fn(0, min(per, n))
	grp.Wait()
}

// gemmRows computes rows [r0, r1) of C.
func gemmRows(transA, transB bool, alpha float64, a, b Matrix, beta float64, c Matrix, r0, r1 int) {
	n := c.Cols
	k := a.Cols
	if transA {
		k = a.Rows
	}
	for i := r0; i < r1; i++ {
		row := c.Data[i*c.Stride : i*c.Stride+n]
		scaleBeta(beta, row)
		if transB {
			// C[i,j] += alpha op(A)[i,:] . B[j,:]
			if !transA {
				ai := a.Data[i*a.Stride : i*a.Stride+k]
				for j := 0; j < n; j++ {
					row[j] += alpha * Dot(ai, b.Data[j*b.Stride:j*b.Stride+k])
				}
				continue
			}
			for j := 0; j < n; j++ {
				s := 0.0
				bj := b.Data[j*b.Stride : j*b.Stride+k]
				for l, bv := range bj {
					s += a.Data[l*a.Stride+i] * bv
				}
				row[j] += alpha * s
			}
			continue
		}
		// C[i,:] += alpha op(A)[i,l] B[l,:]
		for l := 0; l < k; l++ {
			var av float64
			if transA {
				av = a.Data[l*a.Stride+i]
			} else {
				av = a.Data[i*a.Stride+l]
			}
			if av == 0 {
				continue
			}
			Axpy(alpha*av, b.Data[l*b.Stride:l*b.Stride+n], row)
		}
	}
}

// Transpose writes the transpose of the rows x cols matrix a into t (cols x rows).
func Transpose(a Matrix, t []float64) {
	r, c := a.Rows, a.Cols
	const bs = 32
	for i0 := 0; i0 < r; i0 += bs {
		for j0 := 0; j0 < c; j0 += bs {
			for i := i0; i < min(i0+bs, r); i++ {
				for j := j0; j < min(j0+bs, c); j++ {
					t[j*r+i] = a.Data[i*a.Stride+j]
				}
			}
		}
	}
}

// scaleBeta applies C's factor beta to one of its rows (beta = 0 clears it, so that NaN or
// uninitialised values in C do not propagate, as BLAS specifies).
func scaleBeta(beta float64, row []float64) {
	switch beta {
	case 0:
		clear(row)
	case 1:
	default:
		Scale(beta, row)
	}
}
