// Package gram computes Gram matrices of per-sample gradients: the empirical neural
// tangent kernel K[(mu,k),(nu,k')] = grad f_k(x_mu) . grad f_k'(x_nu). The nonzero spectrum of
// any P x P matrix of the form (1/N) sum_mu w_mu grad f_mu grad f_mu^T equals the spectrum
// of an N x N matrix built from K, which is how sgdlab compares the paper's matrices
// (docs/theory.md, "SGD noise", experiment E1) for networks with far more parameters than samples.
//
// For models built from dense layers K is assembled from per-layer Gram matrices
// (D_l D_l^T) o (A_l A_l^T + 1) and never forms the N x P gradient matrix; other models
// fall back to explicit gradient rows.
package gram

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdlab/sgdlab/model"
)

// MaxSize is the largest N*K for which Jacobian builds the (N*K) x (N*K) matrix
// (8 bytes per entry: 30000 is 7.2 GB).
const MaxSize = 30000

// Jacobian returns the (N*K) x (N*K) matrix K[(mu,k),(nu,k')] = grad f_k(x_mu) . grad f_k'(x_nu)
// at theta, with row index mu*K + k.
func Jacobian(o *model.Objective, theta []float64) (*mat.SymDense, error) {
	n, k := o.N(), o.K()
	if n*k > MaxSize {
		return nil, fmt.Errorf(
			"the Gram route needs an %d x %d matrix (N*K = %d*%d); use at most %d samples*outputs or the "+
				"matrix-free Lanczos route",
			n*k,
			n*k,
			n,
			k,
			MaxSize,
		)
	}
	if _, ok := o.Model.NewEval(1).(model.Factored); ok {
		return factored(o, theta), nil
	}
	return explicit(o, theta), nil
}

// explicit forms the Jacobian rows and multiplies them out.
func explicit(o *model.Objective, theta []float64) *mat.SymDense {
	nk, p := o.N()*o.K(), o.P()
	rows := make([]float64, nk*p)
	o.NewWorker(2, 0).OutputGrads(theta, nil, rows)
	g := blas64.Symmetric{Uplo: blas.Upper, N: nk, Stride: nk, Data: make([]float64, nk*nk)}
	blas64.Syrk(blas.NoTrans, 1, blas64.General{Rows: nk, Cols: p, Stride: p, Data: rows}, 0, g)
	return mat.NewSymDense(nk, fill(g))
}

// fill copies the upper triangle of g to the lower one and returns the data.
func fill(g blas64.Symmetric) []float64 {
	n := g.N
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			g.Data[j*n+i] = g.Data[i*n+j]
		}
	}
	return g.Data
}

// factored assembles K from per-layer factors.
func factored(o *model.Objective, theta []float64) *mat.SymDense {
	n, K, d := o.N(), o.K(), o.Data.D
	const chunk = 256
	ev := o.Model.NewEval(chunk)
	fe := ev.(model.Factored)
	f := make([]float64, chunk*K)
	dF := make([]float64, chunk*K)
	// Store the layer inputs A_l (N x in) once and the deltas D_l^(k) for every output k.
	var layers []model.LayerFactor
	var A [][]float64
	var D [][][]float64 // D[k][l]
	for i0 := 0; i0 < n; i0 += chunk {
		b := min(chunk, n-i0)
		ev.Forward(theta, o.Data.X[i0*d:(i0+b)*d], b, f)
		for k := 0; k < K; k++ {
			clear(dF)
			for i := 0; i < b; i++ {
				dF[i*K+k] = 1
			}
			fs := fe.LayerFactors(dF)
			if layers == nil {
				layers = fs
				A = make([][]float64, len(fs))
				D = make([][][]float64, K)
				for l, fc := range fs {
					A[l] = make([]float64, n*fc.In)
				}
			}
			if D[k] == nil {
				D[k] = make([][]float64, len(fs))
				for l, fc := range fs {
					D[k][l] = make([]float64, n*fc.Out)
				}
			}
			for l, fc := range fs {
				copy(D[k][l][i0*fc.Out:], fc.D[:b*fc.Out])
				if k == 0 {
					copy(A[l][i0*fc.In:], fc.A[:b*fc.In])
				}
			}
		}
	}
	nk := n * K
	out := make([]float64, nk*nk)
	T := blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: make([]float64, n*n)}
	S := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
	for l, fc := range layers {
		blas64.Syrk(blas.NoTrans, 1, blas64.General{Rows: n, Cols: fc.In, Stride: fc.In, Data: A[l]}, 0, T)
		if fc.Bias {
			for i := 0; i < n; i++ {
				row := T.Data[i*n+i : (i+1)*n]
				for j := range row {
					row[j]++
				}
			}
		}
		for k := 0; k < K; k++ {
			for k2 := k; k2 < K; k2++ {
				Dk := blas64.General{Rows: n, Cols: fc.Out, Stride: fc.Out, Data: D[k][l]}
				if k2 == k {
					blas64.Syrk(blas.NoTrans, 1, Dk, 0, blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n,
						Data: S.Data})
				} else {
					blas64.Gemm(blas.NoTrans, blas.Trans, 1, Dk, blas64.General{Rows: n, Cols: fc.Out, Stride: fc.Out,
						Data: D[k2][l]}, 0, S)
				}
				// out[(mu,k),(nu,k2)] += S[mu,nu] T[mu,nu] for nu >= mu (T is upper);
				// for k != k2 the entries nu < mu come from T's symmetry.
				for mu := 0; mu < n; mu++ {
					j0 := mu
					if k2 != k {
						j0 = 0
					}
					for nu := j0; nu < n; nu++ {
						t := T.Data[mu*n+nu]
						if nu < mu {
							t = T.Data[nu*n+mu]
						}
						out[(mu*K+k)*nk+nu*K+k2] += S.Data[mu*n+nu] * t
					}
				}
			}
		}
	}
	// Entry (mu,k),(nu,k2) was computed when k < k2, or k == k2 and nu >= mu; every other
	// entry is the transpose of a computed one.
	for r := 0; r < nk; r++ {
		mu, k := r/K, r%K
		for c := 0; c < nk; c++ {
			nu, k2 := c/K, c%K
			if k > k2 || (k == k2 && nu < mu) {
				out[r*nk+c] = out[c*nk+r]
			}
		}
	}
	return mat.NewSymDense(nk, out)
}
