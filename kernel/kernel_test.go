package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector kernels agree with plain loops for every length (including tails) to within
// the rounding of a reordered sum: |error| <= n eps sum |x_i y_i|.
func TestAxpyDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for n := 0; n < 70; n++ {
		x, y := make([]float64, n), make([]float64, n+3)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		want := append([]float64(nil), y...)
		for i, v := range x {
			want[i] += 0.7 * v
		}
		got := append([]float64(nil), y...)
		Axpy(0.7, x, got)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-15*(1+math.Abs(want[i])) {
				t.Fatalf("n=%d: Axpy[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
		d, abs := 0.0, 0.0
		for i, v := range x {
			d += v * y[i]
			abs += math.Abs(v * y[i])
		}
		if got := Dot(x, y); math.Abs(got-d) > float64(n+1)*1e-16*abs {
			t.Fatalf("n=%d: Dot = %v, want %v", n, got, d)
		}
	}
	t.Logf("vector kernels in use: %v", Available())
}

func BenchmarkAxpy100(b *testing.B) {
	x, y := make([]float64, 100), make([]float64, 100)
	for range b.N {
		Axpy(1.0001, x, y)
	}
}

// Gemm against a naive triple loop for every transpose combination and sizes on both
// sides of the parallel threshold; sparse products against dense ones.
func TestGemmAndSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	randm := func(r, c int) Matrix {
		m := M(r, c, make([]float64, r*c))
		for i := range m.Data {
			m.Data[i] = rng.NormFloat64()
			if rng.Float64() < 0.3 {
				m.Data[i] = 0
			}
		}
		return m
	}
	for _, sz := range [][3]int{{3, 5, 7}, {40, 33, 17}, {200, 130, 90}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				var a, b Matrix
				if ta {
					a = randm(k, m)
				} else {
					a = randm(m, k)
				}
				if tb {
					b = randm(n, k)
				} else {
					b = randm(k, n)
				}
				c := randm(m, n)
				want := append([]float64(nil), c.Data...)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						s := 0.0
						for l := 0; l < k; l++ {
							var av, bv float64
							if ta {
								av = a.Data[l*a.Stride+i]
							} else {
								av = a.Data[i*a.Stride+l]
							}
							if tb {
								bv = b.Data[j*b.Stride+l]
							} else {
								bv = b.Data[l*b.Stride+j]
							}
							s += av * bv
						}
						want[i*n+j] = 0.5*want[i*n+j] + 1.5*s
					}
				}
				Gemm(ta, tb, 1.5, a, b, 0.5, c)
				for i := range want {
					if math.Abs(c.Data[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
						t.Fatalf("%v ta=%v tb=%v: entry %d %v vs %v", sz, ta, tb, i, c.Data[i], want[i])
					}
				}
			}
		}
	}
	// Sparse: S W^T and S^T D.
	s := randm(30, 50)
	w := randm(20, 50)
	wT := make([]float64, 50*20)
	Transpose(w, wT)
	var csr CSR
	csr.Fill(30, 50, s.Data)
	c := M(30, 20, make([]float64, 600))
	csr.MulT(wT, 20, c)
	ref := M(30, 20, make([]float64, 600))
	Gemm(false, true, 1, s, w, 0, ref)
	d := randm(30, 20)
	gT := make([]float64, 50*20)
	csr.AddTMul(d, gT, 20)
	g := M(20, 50, make([]float64, 1000))
	Gemm(true, false, 1, d, s, 0, g)
	for i := range ref.Data {
		if math.Abs(ref.Data[i]-c.Data[i]) > 1e-12 {
			t.Fatal("sparse S W^T differs")
		}
	}
	for o := 0; o < 20; o++ {
		for j := 0; j < 50; j++ {
			if math.Abs(g.Data[o*50+j]-gT[j*20+o]) > 1e-12 {
				t.Fatal("sparse S^T D differs")
			}
		}
	}
}
