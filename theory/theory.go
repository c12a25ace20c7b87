// Package theory evaluates the closed-form predictions of docs/theory.md: the stationary
// exponent phi, the critical dimension n_c, the power-law escape rate in one and n
// dimensions, the Arrhenius-type alternatives, and the exact mean first-passage time of a
// one-dimensional diffusion by quadrature (a reference free of Kramers' approximation).
// All functions are pure functions of numbers.
package theory

import (
	"errors"
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/num"
)

// Phi is the stationary exponent phi = 1 + B/(eta h*) of P(theta) ∝ L^-phi (Ito reading).
func Phi(batch int, eta, hstar float64) float64 { return 1 + float64(batch)/(eta*hstar) }

// NCritical is n_c = 2 phi: a minimum with n outlier directions is stable only for n < n_c.
func NCritical(batch int, eta, hstar float64) float64 { return 2 * Phi(batch, eta, hstar) }

// Exponent is the escape exponent B/(eta h*) + 1 - n/2 of kappa ∝ (L^s/L*)^-exponent.
func Exponent(batch int, eta, hstar float64, n int) float64 {
	return float64(batch)/(eta*hstar) + 1 - float64(n)/2
}

// Barrier holds what the escape formulas need about a minimum and its saddle.
type Barrier struct {
	LMin, LSaddle float64 // L(theta*), L(theta^s)
	HStar         float64 // typical outlier eigenvalue of H(theta*)
	HSaddleNeg    float64 // |h_e^s|: modulus of the negative eigenvalue at the saddle
	// DetRatio is det H^(theta*) / |det H^(theta^s)| over the n outlier directions (for
	// n = 1: h* / |h^s|); NaN where it is not defined (a flat direction at the minimum or
	// the saddle), and so are the prefactor and the rates built on it.
	DetRatio num.Float
	N        int // outlier directions n
}

// Prefactor is |h_e^s|/(2 pi) sqrt(det H^* / |det H^s|), shared by every Kramers-type formula.
func (b Barrier) Prefactor() float64 {
	return b.HSaddleNeg / (2 * math.Pi) * math.Sqrt(float64(b.DetRatio))
}

// LogPrefactor is the natural logarithm of Prefactor, without its overflow.
func (b Barrier) LogPrefactor() float64 {
	return math.Log(b.HSaddleNeg) - math.Log(2*math.Pi) + 0.5*math.Log(float64(b.DetRatio))
}

// DeltaLogL is log L^s - log L*, computed as a difference of logarithms so that it is finite
// whenever both losses are (the ratio L^s/L* may overflow).
func (b Barrier) DeltaLogL() float64 { return math.Log(b.LSaddle) - math.Log(b.LMin) }

// PowerLaw is the n-dimensional rate of docs/theory.md, "Escape":
// kappa = |h_e^s|/(2 pi) sqrt(det H^*/|det H^s|) (L^s/L*)^-(B/(eta h*) + 1 - n/2),
// in units of t (multiply by eta for a rate per step).
func PowerLaw(b Barrier, batch int, eta float64) float64 { return math.Exp(LogPowerLaw(b, batch, eta)) }

// LogPowerLaw is the natural logarithm of PowerLaw: finite where the rate itself underflows.
func LogPowerLaw(b Barrier, batch int, eta float64) float64 {
	return b.LogPrefactor() - Exponent(batch, eta, b.HStar, b.N)*b.DeltaLogL()
}

// LogArrhenius and LogFrozen are the natural logarithms of Arrhenius and Frozen.
func LogArrhenius(b Barrier, batch int, eta float64) float64 {
	return b.LogPrefactor() - 2*float64(batch)*(b.LSaddle-b.LMin)/(eta*b.HStar)
}

// LogFrozen is the natural logarithm of Frozen.
func LogFrozen(b Barrier, batch int, eta float64) float64 {
	return b.LogPrefactor() - float64(batch)*((b.LSaddle-b.LMin)/b.LMin)/(eta*b.HStar)
}

// PowerLaw1D is the one-dimensional formula (1/2pi) sqrt(h* |h^s|) (L^s/L*)^-(1/2 + B/(eta h*)).
func PowerLaw1D(hstar, hsad, lmin, lsad float64, batch int, eta float64) float64 {
	return math.Sqrt(hstar*math.Abs(hsad)) / (2 * math.Pi) * math.Pow(lsad/lmin, -(0.5+float64(batch)/(eta*hstar)))
}

// Arrhenius is the constant Hessian-aligned noise prediction (Xie, Sato, Sugiyama 2021 and
// others): kappa = prefactor * exp(-2 B Delta L/(eta h*)), independent of L*.
func Arrhenius(b Barrier, batch int, eta float64) float64 {
	return math.Exp(LogArrhenius(b, batch, eta))
}

// Frozen is Kramers' rate with the noise frozen at its value at the minimum (temperature
// eta h* L*/B): kappa = prefactor * exp(-B Delta L/(eta h* L*)). The power law reduces to it
// when Delta L << L*.
func Frozen(b Barrier, batch int, eta float64) float64 { return math.Exp(LogFrozen(b, batch, eta)) }

// ReducedBarrier is (B/(eta h*)) log(L^s/L*): the power law is valid when it is large.
func ReducedBarrier(b Barrier, batch int, eta float64) float64 {
	return float64(batch) / (eta * b.HStar) * b.DeltaLogL()
}

// StepStable reports whether a full-batch step is stable along an outlier direction of
// curvature h*: |1 - eta h*| < 1, i.e. eta h* < 2. Above it gradient descent itself
// overshoots the minimum and no SGD noise formula applies.
func StepStable(eta, hstar float64) bool { return eta*hstar < 2 }

// VarianceFinite reports whether SGD with replacement on linear regression with Gaussian
// data (x ~ N(0, h*)) has a finite stationary variance: 2B - eta h* B - 2 eta h* > 0, i.e.
// eta h* < 2B/(B + 2) (docs/theory.md, "Discrete time").
func VarianceFinite(batch int, eta, hstar float64) bool {
	b := float64(batch)
	return eta*hstar < 2*b/(b+2)
}

// MFPT1D returns the mean first-passage time of the Ito diffusion
// dX = mu(X) dt + sqrt(2 D(X)) dW from x0 to the absorbing point b, with a reflecting
// boundary at a (a <= x0 < b or b < x0 <= a): T = int_x0^b s(y) int_a^y m(z) dz dy, with
// scale density s = exp(-int mu/D) and speed density m = 1/(D s). The integrals are done on
// a uniform grid of n intervals (composite trapezoid; in log space to survive large
// barriers); the result converges as O(1/n^2).
func MFPT1D(mu, D func(float64) float64, a, x0, b float64, n int) (float64, error) {
	if n < 100 {
		n = 100
	}
	if (x0-a)*(b-x0) < 0 || a == b {
		return 0, fmt.Errorf("MFPT1D: the start %v must lie between the reflecting %v and absorbing %v boundaries",
			x0, a, b)
	}
	h := (b - a) / float64(n)
	xs := make([]float64, n+1)
	phi := make([]float64, n+1) // phi(x) = int_a^x mu/D, so s = exp(-phi), m = exp(phi)/D
	for i := range xs {
		xs[i] = a + float64(i)*h
	}
	prev := mu(xs[0]) / D(xs[0])
	for i := 1; i <= n; i++ {
		cur := mu(xs[i]) / D(xs[i])
		phi[i] = phi[i-1] + 0.5*(prev+cur)*h
		prev = cur
	}
	for i := range xs {
		if d := D(xs[i]); !(d > 0) || math.IsNaN(phi[i]) {
			return 0, errors.New("MFPT1D: the diffusion coefficient must be positive on the interval")
		}
	}
	// logM[i] = log int_a^{x_i} m(z) dz (trapezoid), m = exp(phi)/D.
	logm := func(i int) float64 { return phi[i] - math.Log(D(xs[i])) }
	logM := make([]float64, n+1)
	logM[0] = math.Inf(-1)
	for i := 1; i <= n; i++ {
		inc := logAdd(logm(i-1), logm(i)) + math.Log(math.Abs(h)/2)
		logM[i] = logAdd(logM[i-1], inc)
	}
	// T = int_{x0}^{b} exp(-phi(y) + logM(y)) dy over grid points from x0 on.
	i0 := int(math.Round((x0 - a) / h))
	logT := math.Inf(-1)
	for i := i0; i < n; i++ {
		f0 := -phi[i] + logM[i]
		f1 := -phi[i+1] + logM[i+1]
		logT = logAdd(logT, logAdd(f0, f1)+math.Log(math.Abs(h)/2))
	}
	return math.Exp(logT), nil
}

// logAdd returns log(exp(x) + exp(y)).
func logAdd(x, y float64) float64 {
	if math.IsInf(x, -1) {
		return y
	}
	if math.IsInf(y, -1) {
		return x
	}
	if x < y {
		x, y = y, x
	}
	return x + math.Log1p(math.Exp(y-x))
}

// MFPTLossLevel is the exact mean time for the decoupled SDE with isotropic H* = h I in n
// dimensions, d theta = -grad L dt + sqrt(2 eta L h / B) dW with L = L* + h |theta - theta*|^2 / 2,
// to reach L = c L* from the minimum. The radius r = |theta - theta*| is a 1-D diffusion with
// D = eta L h / B and drift -h r + (n-1) D / r, reflecting at 0: MFPT1D applies.
func MFPTLossLevel(eta float64, batch int, h float64, n int, lstar, c float64) (float64, error) {
	if !(c > 1) || !(lstar > 0) || !(h > 0) {
		return 0, errors.New("MFPTLossLevel needs c > 1, L* > 0 and h > 0")
	}
	nf := float64(n)
	D := func(r float64) float64 { return eta * (lstar + h*r*r/2) * h / float64(batch) }
	mu := func(r float64) float64 {
		if n == 1 {
			return -h * r
		}
		return -h*r + (nf-1)*D(r)/r
	}
	rc := math.Sqrt(2 * lstar * (c - 1) / h)
	a := 0.0
	if n > 1 {
		a = 1e-9 * rc
	}
	return MFPT1D(mu, D, a, a, rc, 40000)
}

// PhiEta is the finite-step exponent of one-dimensional linear regression with Gaussian data
// (x ~ N(0, h), residuals N(0, sigma^2), sampling with replacement): the exact chain's
// variance eta sigma^2/(2B - eta h B - 2 eta h) matched to the variance sigma^2/(h(2 phi - 3))
// of the law (1 + h theta^2/sigma^2)^-phi gives phi_eta = B/(eta h) - B/2 + 1/2, the paper's
// phi with a finite-step correction (docs/theory.md, "Discrete time"). At or below 3/2 the
// chain's variance is infinite and the matching has no meaning: NaN.
func PhiEta(batch int, eta, h float64) float64 {
	if !VarianceFinite(batch, eta, h) {
		return math.NaN()
	}
	b := float64(batch)
	return b/(eta*h) - b/2 + 0.5
}

// PhiKesten is the tail exponent phi_K = (alpha + n)/2 of a density in n dimensions that
// decays as |theta|^-(alpha + n) (P(|theta| > t) ~ t^-alpha, Kesten's tail), written as
// L^-phi_K with L quadratic in theta.
func PhiKesten(alpha float64, n int) float64 { return (alpha + float64(n)) / 2 }
