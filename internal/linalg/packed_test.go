package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// naive is the triple loop C = alpha op(A) op(B) + beta C in float64 with a long-double-free
// but order-independent reference: each element summed in index order.
func naive(transA, transB bool, alpha float64, a, b Matrix, beta float64, c Matrix) []float64 {
	k := a.Cols
	if transA {
		k = a.Rows
	}
	out := make([]float64, c.Rows*c.Cols)
	for i := 0; i < c.Rows; i++ {
		for j := 0; j < c.Cols; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				s += at(a, transA, i, l) * at(b, transB, l, j)
			}
			out[i*c.Cols+j] = alpha*s + beta*c.Data[i*c.Stride+j]
		}
	}
	return out
}

// Every micro-kernel and the row kernel agree with the triple loop on shapes that exercise
// partial panels and blocks in every dimension, every transposition, strides wider than the
// matrices, and alpha and beta other than 0 and 1. The tolerance is the accumulated rounding
// of a k-term sum: k eps times the sum of |terms|.
func TestGemmKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := [][3]int{{1, 1, 1}, {7, 9, 5}, {13, 17, 300}, {200, 33, 70}, {37, 500, 260}, {6, 8, 1}, {400, 3100, 20}}
	names := append(Kernels(), "")
	defer SetKernel(SetKernel(Kernel()))
	for _, name := range names {
		SetKernel(name)
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				ar, ac := m, k
				if tr[0] {
					ar, ac = k, m
				}
				br, bc := k, n
				if tr[1] {
					br, bc = n, k
				}
				a := Matrix{Rows: ar, Cols: ac, Stride: ac + 3, Data: randSlice(rng, ar*(ac+3))}
				b := Matrix{Rows: br, Cols: bc, Stride: bc + 1, Data: randSlice(rng, br*(bc+1))}
				c := Matrix{Rows: m, Cols: n, Stride: n + 2, Data: randSlice(rng, m*(n+2))}
				want := naive(tr[0], tr[1], 0.7, a, b, -1.3, c)
				Gemm(tr[0], tr[1], 0.7, a, b, -1.3, c)
				worst := 0.0
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						d := math.Abs(c.Data[i*c.Stride+j] - want[i*n+j])
						worst = math.Max(worst, d/(float64(k+2)*4e-16*(math.Sqrt(float64(k))*2+1)))
					}
				}
				if worst > 1 {
					t.Errorf("kernel %q, %dx%dx%d, trans %v: error %.2f of the bound", name, m, n, k, tr, worst)
				}
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

// BenchmarkGemm compares the kernels with gonum's pure-Go dgemm at square sizes (GFLOP/s
// = 2 n^3 / time); the OpenBLAS comparison is in model's openblas build and bench/workloads.
func BenchmarkGemm(b *testing.B) {
	defer SetKernel(SetKernel(Kernel()))
	for _, n := range []int{256, 1024, 2048} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, y, z := M(n, n, randSlice(rng, n*n)), M(n, n, randSlice(rng, n*n)), M(n, n, make([]float64, n*n))
		for _, name := range append(Kernels(), "") {
			label := name
			if label == "" {
				label = "rows"
			}
			if name == "" && n > 1024 {
				continue
			}
			b.Run(fmt.Sprintf("n=%d/%s", n, label), func(b *testing.B) {
				SetKernel(name)
				for b.Loop() {
					Gemm(false, false, 1, x, y, 0, z)
				}
				b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		b.Run(fmt.Sprintf("n=%d/gonum", n), func(b *testing.B) {
			for b.Loop() {
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General(x), blas64.General(y), 0, blas64.General(z))
			}
			b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
