package chain

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
)

// Moments of the finite-step chain (docs/theory.md, "Discrete time"). For linear regression
// SGD with replacement is the random affine recursion delta' = A delta + eta s, with
// delta = theta - theta*, A = I - eta M, M = (1/B) sum_batch z z^T and s = (1/B) sum_batch z r
// (z the features, r = y - z . theta* the residual at the minimum). At the least-squares
// minimum E s = 0, so the stationary mean of delta is 0 and its covariance solves the linear
// equation
//
//	C = E[A C A^T] + eta^2 E[s s^T]
//	  = C - eta (H C + C H) + eta^2 ((1/B) F(C) + (1 - 1/B) H C H) + (eta^2/B) E[r^2 z z^T],
//
// F(C) = E[(z^T C z) z z^T], exactly over the data set: no Gaussian or small-step
// approximation. It is solved by GMRES over symmetric matrices, each product costing N p^2.

// Covariance is the chain's stationary covariance for a linear model.
type Covariance struct {
	C        []float64 `json:"covariance"` // p x p, row-major
	P        int       `json:"p"`
	Residual float64   `json:"residual"` // relative residual of the linear equation
	// Finite is false when the equation has no positive solution: the chain's second moment
	// is infinite (the step is too large for the batch), though the chain may be stable.
	Finite bool `json:"finite"`
}

// LinearCovariance solves the moment equation for SGD with replacement on the linear model
// of o at its least-squares minimum thetaStar.
func LinearCovariance(o *model.Objective, thetaStar []float64, eta float64, batch int) (*Covariance, error) {
	fl, ok := model.AsFeatureLinear(o.Model)
	if !ok || !model.IsIdentityFeatures(fl) || !isMSE(o) {
		return nil, fault.Invalid("finite-step moments need a linear model with the mean-square loss, not %s",
			o.Model.Spec())
	}
	p, n, dIn := fl.Features(), o.N(), o.Data.D
	z := make([]float64, n*p)
	r := make([]float64, n)
	for mu := 0; mu < n; mu++ {
		row := o.Data.Row(mu)
		zm := z[mu*p : (mu+1)*p]
		copy(zm, row)
		if fl.Augmented() {
			zm[dIn] = 1
		}
		r[mu] = o.Data.Y[mu]
		for j := range zm {
			r[mu] -= zm[j] * thetaStar[j]
		}
	}
	return momentCovariance(z, r, p, eta, batch)
}

// momentCovariance solves the equation for features z (N x p) and residuals r.
func momentCovariance(z, r []float64, p int, eta float64, batch int) (*Covariance, error) {
	n := len(r)
	fb := float64(batch)
	h := make([]float64, p*p)
	q := make([]float64, p*p)
	for mu := 0; mu < n; mu++ {
		zm := z[mu*p : (mu+1)*p]
		for i := range p {
			for j := range p {
				h[i*p+j] += zm[i] * zm[j] / float64(n)
				q[i*p+j] += eta * eta / fb * r[mu] * r[mu] * zm[i] * zm[j] / float64(n)
			}
		}
	}
	hc, ch := make([]float64, p*p), make([]float64, p*p)
	// op(C) = eta (HC + CH) - eta^2 ((1/B) F(C) + (1 - 1/B) H C H): op(C) = Q.
	op := func(c, out []float64) {
		matmul(h, c, hc, p)
		matmul(c, h, ch, p)
		for i := range out {
			out[i] = eta * (hc[i] + ch[i])
		}
		matmul(hc, h, ch, p) // H C H
		for i := range out {
			out[i] -= eta * eta * (1 - 1/fb) * ch[i]
		}
		for mu := 0; mu < n; mu++ {
			zm := z[mu*p : (mu+1)*p]
			s := 0.0
			for i := range p {
				for j := range p {
					s += zm[i] * c[i*p+j] * zm[j]
				}
			}
			s *= eta * eta / fb / float64(n)
			for i := range p {
				for j := range p {
					out[i*p+j] -= s * zm[i] * zm[j]
				}
			}
		}
	}
	// GMRES solves (I - K) x = b: with K = I - op/scale it solves op(x) = b scale... scale
	// by the diagonal so that op/scale has eigenvalues near 1.
	scale := 0.0
	for i := range p {
		scale = math.Max(scale, 2*eta*h[i*p+i])
	}
	if scale == 0 {
		return nil, fault.Invalid("the features are all zero")
	}
	tmp := make([]float64, p*p)
	k := func(x, y []float64) {
		op(x, tmp)
		for i := range y {
			y[i] = x[i] - tmp[i]/scale
		}
	}
	b := make([]float64, p*p)
	for i := range b {
		b[i] = q[i] / scale
	}
	c := make([]float64, p*p)
	res, _, err := gmres(k, b, c, min(p*p, 60), 1e-12, 200*p*p+2000)
	if err != nil {
		return nil, fmt.Errorf("the finite-step covariance: %w", err)
	}
	// A solution that is not positive definite is not a covariance: E[A C A^T] is then not a
	// contraction and the second moment grows without bound.
	var chol mat.Cholesky
	sym := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			sym.SetSym(i, j, 0.5*(c[i*p+j]+c[j*p+i]))
		}
	}
	return &Covariance{C: c, P: p, Residual: res, Finite: chol.Factorize(sym)}, nil
}

func matmul(a, b, c []float64, p int) {
	for i := range p {
		for j := range p {
			s := 0.0
			for k := range p {
				s += a[i*p+k] * b[k*p+j]
			}
			c[i*p+j] = s
		}
	}
}

// PhiEta is the finite-step exponent of a linear model with p parameters: the phi of the
// law (1 + delta^T H delta/sigma^2)^-phi whose covariance sigma^2 H^-1/(2 phi - p - 2) has
// the chain's tr(H C), with sigma^2 = 2 L*: phi_eta = p/2 + 1 + p L*/tr(H C). For x ~ N(0, h I)
// and Gaussian residuals it is theory.PhiEta = B/(eta h) - B/2 + 1/2 in any dimension. NaN
// when the chain's covariance is infinite.
func PhiEta(trHC float64, p int, lstar float64) float64 {
	if !(trHC > 0) || math.IsInf(trHC, 0) {
		return math.NaN()
	}
	fp := float64(p)
	return fp/2 + 1 + fp*lstar/trHC
}
