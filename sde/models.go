package sde

import (
	"math"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/model"
)

// decoupled is the theory's d theta = -grad L dt + sqrt(2 eta L H* / B) dW.
type decoupled struct {
	land     model.Landscape
	f        *curvature.SqrtFactor
	eta      float64
	batch    int
	eps      float64 // 0 except for the log landscape's regularisation
	logScale bool    // log-landscape form in tau time
}

func (d *decoupled) Dim() int      { return d.f.P }
func (d *decoupled) NoiseDim() int { return d.f.R }
func (d *decoupled) Eval(theta, xi, drift, diff []float64) float64 {
	l := d.land.LossGrad(theta, drift)
	if d.logScale {
		// d theta = -grad log(L + eps) d tau + sqrt(2 eta H* / B) dW_tau.
		inv := 1 / (l + d.eps)
		for i := range drift {
			drift[i] *= -inv
		}
		d.f.Apply(math.Sqrt(2*d.eta/float64(d.batch)), xi, diff)
		return l
	}
	for i := range drift {
		drift[i] = -drift[i]
	}
	d.f.Apply(math.Sqrt(2*d.eta*math.Max(l, 0)/float64(d.batch)), xi, diff)
	return l
}

// langevin is d theta = -grad L dt + sqrt(2 T) dW (isotropic) or sqrt(2 T) F dW (Hessian-aligned).
type langevin struct {
	land model.Landscape
	p    int
	t    float64
	f    *curvature.SqrtFactor // nil: isotropic
}

func (l *langevin) Dim() int { return l.p }
func (l *langevin) NoiseDim() int {
	if l.f != nil {
		return l.f.R
	}
	return l.p
}
func (l *langevin) Eval(theta, xi, drift, diff []float64) float64 {
	loss := l.land.LossGrad(theta, drift)
	for i := range drift {
		drift[i] = -drift[i]
	}
	s := math.Sqrt(2 * l.t)
	if l.f != nil {
		l.f.Apply(s, xi, diff)
	} else {
		for i := range diff {
			diff[i] = s * xi[i]
		}
	}
	return loss
}

// exactWorker is the SGD SDE d theta = -grad L dt + sqrt(eta Sigma(theta)) dW with the exact
// noise covariance Sigma = c (M - g g^T), sampled without forming Sigma as
// sqrt(eta c / N) sum_mu (xi_mu - mean xi) grad l_mu: N independent normals per step.
type exactWorker struct {
	w       *model.Worker
	eta, c  float64
	losses  []float64
	dl, u   []float64
	n, k, p int
}

func newExactWorker(o *model.Objective, eta, c float64) *exactWorker {
	return &exactWorker{w: o.NewWorker(1, 0), eta: eta, c: c, n: o.N(), k: o.K(), p: o.P(),
		losses: make([]float64, o.N()), dl: make([]float64, o.N()*o.K()), u: make([]float64, o.N()*o.K())}
}

func (e *exactWorker) Dim() int      { return e.p }
func (e *exactWorker) NoiseDim() int { return e.n }
func (e *exactWorker) Eval(theta, xi, drift, diff []float64) float64 {
	e.w.PerSample(theta, e.losses, e.dl)
	l := 0.0
	for _, v := range e.losses {
		l += v
	}
	l /= float64(e.n)
	inv := -1 / float64(e.n)
	for i, v := range e.dl {
		e.u[i] = v * inv
	}
	e.w.VJP(theta, e.u, drift)
	mean := 0.0
	for _, v := range xi {
		mean += v
	}
	mean /= float64(e.n)
	s := math.Sqrt(e.eta * e.c / float64(e.n))
	for mu := 0; mu < e.n; mu++ {
		z := s * (xi[mu] - mean)
		for k := 0; k < e.k; k++ {
			e.u[mu*e.k+k] = z * e.dl[mu*e.k+k]
		}
	}
	e.w.VJP(theta, e.u, diff)
	return l
}

// exactFeature is the same SDE for FeatureLinear models, with Sigma(theta) computed exactly
// from data moments and factorised: O(d^4) per step instead of O(N P).
type exactFeature struct {
	fl     *model.FeatureLandscape
	eta, c float64
	p      int
	cov    []float64
	chol   []float64
}

func (e *exactFeature) Dim() int      { return e.p }
func (e *exactFeature) NoiseDim() int { return e.p }
func (e *exactFeature) Eval(theta, xi, drift, diff []float64) float64 {
	l := e.fl.LossGrad(theta, drift)
	for i := range drift {
		drift[i] = -drift[i]
	}
	e.fl.NoiseCov(theta, e.cov)
	for i := range e.cov {
		e.cov[i] *= e.eta * e.c
	}
	psdSqrt(e.p, e.cov, e.chol)
	for r := 0; r < e.p; r++ {
		v := 0.0
		for c, s := range e.chol[r*e.p : (r+1)*e.p] {
			v += s * xi[c]
		}
		diff[r] = v
	}
	return l
}

// psdSqrt writes a matrix S with S S^T = a into out: the Cholesky factor when a is positive
// definite (hand-written: 7-40x faster than gonum's mat.Cholesky at the n <= 16 of this path and
// allocation-free, BenchmarkPSDSqrt; equal to it to rounding, TestPSDSqrt), else
// U sqrt(max(Lambda, 0)) from its eigendecomposition (a covariance can be
// singular, e.g. at the double well's saddle where grad f vanishes in one direction).
func psdSqrt(n int, a, out []float64) {
	clear(out)
	scale := 0.0
	for j := 0; j < n; j++ {
		scale = math.Max(scale, a[j*n+j])
	}
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= out[j*n+k] * out[j*n+k]
		}
		if s <= 1e-13*scale {
			eigSqrt(n, a, out)
			return
		}
		d := math.Sqrt(s)
		out[j*n+j] = d
		for i := j + 1; i < n; i++ {
			t := a[i*n+j]
			for k := 0; k < j; k++ {
				t -= out[i*n+k] * out[j*n+k]
			}
			out[i*n+j] = t / d
		}
	}
}

func eigSqrt(n int, a, out []float64) {
	vals, vecs, err := curvature.Eigen(n, a, true)
	if err != nil {
		// A covariance beyond floating-point range: the run's next state is not finite, and
		// the dynamics' divergence check stops it.
		for i := range out[:n*n] {
			out[i] = math.NaN()
		}
		return
	}
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			out[r*n+c] = vecs.At(r, c) * math.Sqrt(math.Max(vals[c], 0))
		}
	}
}
