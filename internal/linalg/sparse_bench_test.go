package linalg

import (
	"math/rand/v2"
	"testing"
)

// sparseChunk is a 256 x 784 matrix of MNIST-like density (19% nonzeros) in CSR form.
func sparseChunk() (*CSR, []float64, Matrix, Matrix) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows, in, out := 256, 784, 100
	a := make([]float64, rows*in)
	for i := range a {
		if rng.Float64() < 0.19 {
			a[i] = rng.Float64()
		}
	}
	var s CSR
	s.Fill(rows, in, a)
	wT := make([]float64, in*out)
	for i := range wT {
		wT[i] = rng.NormFloat64()
	}
	return &s, wT, M(rows, out, make([]float64, rows*out)), M(rows, out, wT[:rows*out])
}

// BenchmarkCSRMulT is the first layer's product over one chunk (S W^T, S sparse).
func BenchmarkCSRMulT(b *testing.B) {
	s, wT, c, _ := sparseChunk()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.MulT(wT, 100, c)
	}
}

// BenchmarkCSRMulTAxpy is the same product as one Axpy per nonzero (the kernel before GatherAxpy).
func BenchmarkCSRMulTAxpy(b *testing.B) {
	s, wT, c, _ := sparseChunk()
	for range b.N {
		for i := 0; i < s.Rows; i++ {
			row := c.Data[i*c.Stride : i*c.Stride+100]
			for p := s.Ptr[i]; p < s.Ptr[i+1]; p++ {
				j := int(s.Idx[p])
				Axpy(s.Val[p], wT[j*100:(j+1)*100], row)
			}
		}
	}
}

// BenchmarkCSRAddTMul is the first layer's weight gradient over one chunk (S^T D),
// including the compressed-column copy that every new batch needs.
func BenchmarkCSRAddTMul(b *testing.B) {
	s, _, _, d := sparseChunk()
	gT := make([]float64, 784*100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.hasCSC = false
		s.AddTMul(d, gT, 100)
	}
}

// BenchmarkCSRAddTMulAxpy is the same gradient as one Axpy per nonzero into the rows of gT
// (the kernel before the compressed-column copy and GatherAxpy).
func BenchmarkCSRAddTMulAxpy(b *testing.B) {
	s, _, _, d := sparseChunk()
	gT := make([]float64, 784*100)
	for range b.N {
		for i := 0; i < s.Rows; i++ {
			di := d.Data[i*d.Stride : i*d.Stride+100]
			for p := s.Ptr[i]; p < s.Ptr[i+1]; p++ {
				j := int(s.Idx[p])
				Axpy(s.Val[p], di, gT[j*100:(j+1)*100])
			}
		}
	}
}
