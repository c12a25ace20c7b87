// Package noise measures the covariance of SGD's gradient noise and compares it with the
// approximations of docs/theory.md, "SGD noise": the decoupled form (2L/B) G and the Hessian form
// (2L/B) H*, by trace ratio, Frobenius cosine and top-k eigenvector overlap, and computes
// the paper's Fig. 1 spectra and the scalar noise strength Noise(theta).
//
// For large P nothing P x P is formed: the exact covariance is applied matrix-free through
// one Jacobian-vector and one vector-Jacobian product, and the N x N Gram route
// (package gram) gives exact spectra and agreement measures.
package noise

import (
	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
)

// Version changes whenever the same point would give different numbers or fields (run stores
// include it in the keys of stored noise analyses and training runs): 2 added the 1/K of the
// decoupled forms and turned the strength ratio into approximation over exact.
const Version = 2

// State holds the per-sample quantities at theta that every noise form uses.
type State struct {
	W      *model.Worker
	Theta  []float64
	Mode   sgd.Sampling
	B      int
	C      float64   // sampling factor
	L      float64   // loss
	Grad   []float64 // g = grad L
	DLdF   []float64 // N x K: dl_mu/df (residuals f - y for the MSE loss)
	Losses []float64 // l_mu
}

// NewState evaluates the loss, gradient and per-sample residuals at theta.
func NewState(w *model.Worker, theta []float64, mode sgd.Sampling, b int) *State {
	o := w.Objective()
	s := &State{W: w, Theta: theta, Mode: mode, B: b, C: sgd.NoiseScale(mode, o.N(), b),
		Grad: make([]float64, o.P()), DLdF: make([]float64, o.N()*o.K()), Losses: make([]float64, o.N())}
	s.L = w.LossGrad(theta, s.Grad)
	w.PerSample(theta, s.Losses, s.DLdF)
	return s
}

func dot(a, b []float64) float64 {
	t := 0.0
	for i, x := range a {
		t += x * b[i]
	}
	return t
}

// Exact is Sigma = c (M - g g^T) with M = (1/N) sum_mu grad l_mu grad l_mu^T, applied as
// c [ (1/N) J^T (dl o (dl . J v)) - g (g . v) ] (grad l_mu = J_mu^T dl_mu).
func (s *State) Exact() curvature.Operator {
	s.W.CacheForward(s.Theta) // every product runs at theta
	o := s.W.Objective()
	N, K := o.N(), o.K()
	jv := make([]float64, N*K)
	u := make([]float64, N*K)
	return curvature.Func{N: o.P(), F: func(v, out []float64) {
		s.W.JVP(s.Theta, v, jv)
		for mu := 0; mu < N; mu++ {
			d := s.DLdF[mu*K : (mu+1)*K]
			p := dot(d, jv[mu*K:(mu+1)*K])
			for k := range d {
				u[mu*K+k] = d[k] * p
			}
		}
		s.W.VJP(s.Theta, u, out)
		gv := dot(s.Grad, v)
		for i := range out {
			out[i] = s.C * (out[i]/float64(N) - s.Grad[i]*gv)
		}
	}}
}

// Decoupled is c (2 L(theta)/K) G(theta), G the Gauss-Newton matrix at theta and K the
// number of outputs: the decoupling approximation E[r r^T] ~ (2L/K) I_K with the g g^T term
// dropped (docs/theory.md, "SGD noise"; with one output the paper's (2L/B) G).
func (s *State) Decoupled() curvature.Operator {
	s.W.CacheForward(s.Theta)
	f := s.formFactor()
	return curvature.Func{N: len(s.Theta), F: func(v, out []float64) {
		s.W.GNVP(s.Theta, v, out)
		for i := range out {
			out[i] *= f
		}
	}}
}

// formFactor is c 2L/K, the factor of both approximate forms.
func (s *State) formFactor() float64 {
	return 2 * s.C * s.L / float64(s.W.Objective().K())
}

// HessianForm is c (2 L(theta)/K) H(theta*): the noise model of the escape and stationary
// theory, with the Hessian frozen at the minimum thetaStar (evaluated by wStar).
func (s *State) HessianForm(wStar *model.Worker, thetaStar []float64) curvature.Operator {
	f := s.formFactor()
	return curvature.Func{N: len(s.Theta), F: func(v, out []float64) {
		wStar.HVP(thetaStar, v, out)
		for i := range out {
			out[i] *= f
		}
	}}
}

// checkFinite refuses a state whose loss, gradient or residuals are not finite numbers: a
// point beyond floating-point range, where no covariance can be measured.
func (s *State) checkFinite() error {
	if !num.AllFinite([]float64{s.L}) || !num.AllFinite(s.Grad) || !num.AllFinite(s.DLdF) {
		return fault.Invalid("the loss or its gradient at the point is not a finite number (L = %g): the point is "+
			"beyond floating-point range; choose parameters of a smaller size", s.L)
	}
	return nil
}
