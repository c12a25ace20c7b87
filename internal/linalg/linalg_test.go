package linalg

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

// GatherAxpy adds the terms of each entry in order with fused multiply-adds (on AVX2: the
// same rounding as one Axpy per term), for widths that exercise the 32- and 4-column
// blocks and the scalar tail, strides wider than the width, and empty term lists.
func TestGatherAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 3, 4, 7, 31, 32, 33, 36, 67, 100} {
		for _, terms := range []int{0, 1, 9} {
			stride := n + rng.IntN(5)
			rows := 12
			w := make([]float64, rows*stride)
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			idx := make([]int32, terms)
			val := make([]float64, terms)
			for p := range idx {
				idx[p], val[p] = int32(rng.IntN(rows)), rng.NormFloat64()
			}
			out := make([]float64, n)
			ref := make([]float64, n)
			for c := range out {
				out[c] = rng.NormFloat64()
				ref[c] = out[c]
			}
			plain := append([]float64(nil), ref...)
			for p, j := range idx {
				Axpy(val[p], w[int(j)*stride:int(j)*stride+n], plain)
				for c := range ref {
					ref[c] = math.FMA(val[p], w[int(j)*stride+c], ref[c])
				}
			}
			GatherAxpy(out, w, stride, idx, val, rows-1)
			for c := range out {
				if useAVX && out[c] != ref[c] {
					t.Fatalf("n=%d terms=%d column %d: %v, in-order FMA %v", n, terms, c, out[c], ref[c])
				}
				if math.Abs(out[c]-plain[c]) > 1e-13*(1+math.Abs(plain[c])) {
					t.Fatalf("n=%d terms=%d column %d: %v, Axpy per term %v", n, terms, c, out[c], plain[c])
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("an index range beyond w was accepted")
		}
	}()
	GatherAxpy(make([]float64, 4), make([]float64, 8), 4, []int32{0}, []float64{1}, 2)
}

// Sparse products on a matrix with empty rows and columns, refilled between products (the
// column copy of AddTMul must follow the new values), against dense products.
func TestCSRSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	rows, in, out := 40, 70, 36
	var csr CSR
	for round := 0; round < 3; round++ {
		s := M(rows, in, make([]float64, rows*in))
		for i := 0; i < rows; i++ {
			if i%7 == 3 {
				continue // an empty row
			}
			for j := 0; j < in; j++ {
				if j%5 != 2 && rng.Float64() < 0.2 { // columns 2, 7, ... stay empty
					s.Data[i*in+j] = rng.NormFloat64()
				}
			}
		}
		w := normal(rng, out, in)
		wT := make([]float64, in*out)
		Transpose(w, wT)
		csr.Fill(rows, in, s.Data)
		c := M(rows, out, make([]float64, rows*out))
		csr.MulT(wT, out, c)
		ref := M(rows, out, make([]float64, rows*out))
		Gemm(false, true, 1, s, w, 0, ref)
		d := normal(rng, rows, out)
		gT := make([]float64, in*out)
		csr.AddTMul(d, gT, out)
		g := M(out, in, make([]float64, out*in))
		Gemm(true, false, 1, d, s, 0, g)
		for i := range ref.Data {
			if math.Abs(ref.Data[i]-c.Data[i]) > 1e-12 {
				t.Fatalf("round %d: sparse S W^T differs at %d", round, i)
			}
		}
		for o := 0; o < out; o++ {
			for j := 0; j < in; j++ {
				if math.Abs(g.Data[o*in+j]-gT[j*out+o]) > 1e-12 {
					t.Fatalf("round %d: sparse S^T D differs at (%d, %d)", round, o, j)
				}
			}
		}
	}
}

func normal(rng *rand.Rand, r, c int) Matrix {
	m := M(r, c, make([]float64, r*c))
	for i := range m.Data {
		m.Data[i] = rng.NormFloat64()
	}
	return m
}
