// Package curvature computes spectra and traces of symmetric operators given only
// matrix-vector products: the Hessian H and Gauss-Newton matrix G of a training loss, the
// SGD noise covariance, or any dense matrix. It provides Lanczos with full
// re-orthogonalisation (top and bottom eigenpairs with residual norms), power iteration
// with deflation, Hutchinson and Hutch++ trace estimators, stochastic Lanczos quadrature
// for the spectral density, the effective dimension (number n of outlier eigenvalues and
// their size h*, the two numbers of docs/theory.md, "Escape") and per-block analyses.
//
// Every estimator is tested against dense eigendecompositions.
package curvature

import (
	"errors"
	"math"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/linalg"
	"github.com/sgdlab/sgdlab/num"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/sgdlab/sgdlab/model"
)

// Operator is a symmetric linear map on R^Dim.
type Operator interface {
	Dim() int
	// Apply writes A v into out; v and out do not overlap.
	Apply(v, out []float64)
}

// Func adapts a function to an Operator.
type Func struct {
	N int
	F func(v, out []float64)
}

func (f Func) Dim() int               { return f.N }
func (f Func) Apply(v, out []float64) { f.F(v, out) }

// Dense is a symmetric matrix stored row-major.
type Dense struct {
	N int
	A []float64
}

func (d Dense) Dim() int { return d.N }
func (d Dense) Apply(v, out []float64) {
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: d.N, Cols: d.N, Stride: d.N, Data: d.A},
		blas64.Vector{N: d.N, Inc: 1, Data: v}, 0, blas64.Vector{N: d.N, Inc: 1, Data: out})
}

// Hessian is the exact Hessian of the objective at theta (R-operator products). The
// forward pass at theta is computed once and reused by every product (theta must not
// change while the operator is in use; if it does, the products follow it uncached).
func Hessian(w *model.Worker, theta []float64) Operator {
	w.CacheForward(theta)
	return Func{N: w.Objective().P(), F: func(v, out []float64) { w.HVP(theta, v, out) }}
}

// GaussNewton is the Gauss-Newton matrix (1/N) sum J^T (d2l/df2) J at theta (forward pass
// cached as for Hessian).
func GaussNewton(w *model.Worker, theta []float64) Operator {
	w.CacheForward(theta)
	return Func{N: w.Objective().P(), F: func(v, out []float64) { w.GNVP(theta, v, out) }}
}

// Block restricts op to the coordinates [off, off+n): the operator P_b A P_b on R^n.
func Block(op Operator, off, n int) Operator {
	full := make([]float64, op.Dim())
	res := make([]float64, op.Dim())
	return Func{N: n, F: func(v, out []float64) {
		clear(full)
		copy(full[off:off+n], v)
		op.Apply(full, res)
		copy(out, res[off:off+n])
	}}
}

// ErrNotFinite is the error of a dense solve asked of a matrix with NaN or infinite entries
// (gonum's LAPACK would loop forever on them); it is of class fault.ErrInvalid, since such a
// matrix comes from a point or data beyond floating-point range.
var ErrNotFinite = fault.Invalid("a matrix has entries that are not finite numbers (the point or the data is beyond " +
	"floating-point range)")

// Eigen returns all eigenvalues (ascending) of a dense symmetric matrix and, if wanted,
// the eigenvectors as columns. It is the reference the iterative methods are tested against.
func Eigen(n int, a []float64, vectors bool) ([]float64, *mat.Dense, error) {
	if !num.AllFinite(a[:n*n]) {
		return nil, nil, ErrNotFinite
	}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), a[:n*n]...)), vectors) {
		return nil, nil, errors.New("the dense symmetric eigendecomposition did not converge")
	}
	vals := es.Values(nil)
	if !vectors {
		return vals, nil, nil
	}
	var v mat.Dense
	es.VectorsTo(&v)
	return vals, &v, nil
}

// dot and axpy are the vector kernels of the iterative methods (AVX2 where available):
// re-orthogonalisation against every earlier Lanczos vector is a tenth of a Lanczos run.
func dot(a, b []float64) float64 { return linalg.Dot(a, b) }

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func axpy(alpha float64, x, y []float64) { linalg.Axpy(alpha, x, y) }

func scale(alpha float64, x []float64) {
	for i := range x {
		x[i] *= alpha
	}
}

// ToDense materialises a P x P operator by applying it to the unit vectors (P small).
func ToDense(op Operator) []float64 { return model.DenseSym(op.Dim(), op.Apply) }
