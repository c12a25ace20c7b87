package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat"
)

// The stationary law of docs/theory.md, "Stationary law", P(theta) ∝ L(theta)^(-phi) around a minimum with
// L = L* + 1/2 dtheta^T H* dtheta in n dimensions, makes the relative excess loss
// u = L/L* - 1 follow a beta-prime law, p(u) = u^(a-1) (1+u)^(-phi) / B(a, phi-a), a = n/2
// (in one dimension this is the scaled Student-t in theta). The Gibbs law exp(-L/T) makes u
// Gamma-distributed with shape a and rate L*/T. Both fits below are maximum likelihood with
// the dimension a known.

// Fit is a one-parameter maximum-likelihood fit.
type Fit struct {
	Law    string    `json:"law"`
	Param  float64   `json:"param"` // phi (power law) or T (Gibbs)
	SE     float64   `json:"se"`    // from the Fisher information, inflated by sqrt(tau)
	Lo     float64   `json:"lo"`    // 95% interval
	Hi     float64   `json:"hi"`
	LogLik float64   `json:"loglik"` // maximised log-likelihood (sum over samples)
	KS     float64   `json:"ks"`     // Kolmogorov-Smirnov distance to the fitted law
	KSp    float64   `json:"ks_p"`   // its p-value with the effective sample size n/tau
	N      int       `json:"n"`
	Tau    float64   `json:"tau"`
	PerLL  []float64 `json:"-"` // per-sample log-likelihoods (for Vuong's test)
}

// Interval95 is the 95% interval of an estimate x > floor with standard error se, taken
// symmetric in log(x - floor) (the delta method on that scale): it stays inside the
// parameter's domain, where x +- 1.96 se could reach below the floor (an exponent phi <= n/2,
// a negative temperature or tail index) when se is not small against x - floor; for small se
// it is x +- 1.96 se.
func Interval95(x, se, floor float64) (lo, hi float64) {
	d := x - floor
	if !(d > 0) || math.IsInf(d, 0) || !(se >= 0) {
		return math.NaN(), math.NaN()
	}
	w := math.Exp(1.96 * se / d)
	return floor + d/w, floor + d*w
}

// trigamma is psi'(x) = zeta(2, x).
func trigamma(x float64) float64 { return mathext.Zeta(2, x) }

// FitPowerLaw fits p(u) ∝ u^(a-1) (1+u)^(-phi) to samples u > 0 with a = n/2 known. The
// likelihood equation psi(phi) - psi(phi - a) = mean log(1+u) has one root in phi > a.
// tau is the integrated autocorrelation time of the samples (1 if independent).
func FitPowerLaw(u []float64, a, tau float64) (Fit, error) {
	if len(u) < 10 {
		return Fit{}, fmt.Errorf("power-law fit needs at least 10 samples, got %d", len(u))
	}
	mlog := 0.0
	for _, v := range u {
		if !(v > 0) {
			return Fit{}, fmt.Errorf("power-law fit: sample u = L/L* - 1 = %v is not positive (L* must be the "+
				"minimum loss)", v)
		}
		mlog += math.Log1p(v)
	}
	mlog /= float64(len(u))
	phi, err := PowerLawPhi(mlog, a)
	if err != nil {
		return Fit{}, err
	}
	n := float64(len(u))
	info := n * (trigamma(phi-a) - trigamma(phi))
	fit := Fit{Law: "power law L^-phi", Param: phi, N: len(u), Tau: tau}
	fit.SE = math.Sqrt(tau / info)
	fit.Lo, fit.Hi = Interval95(phi, fit.SE, a)
	lb := mathext.Lbeta(a, phi-a)
	fit.PerLL = make([]float64, len(u))
	for i, v := range u {
		fit.PerLL[i] = (a-1)*math.Log(v) - phi*math.Log1p(v) - lb
		fit.LogLik += fit.PerLL[i]
	}
	fit.KS, fit.KSp = ksTest(u, func(x float64) float64 { return mathext.RegIncBeta(a, phi-a, x/(1+x)) }, n/tau)
	return fit, nil
}

// PowerLawPhi solves the likelihood equation psi(phi) - psi(phi - a) = mlog of the law
// p(u) ∝ u^(a-1) (1+u)^(-phi) for phi > a, with mlog the mean of log(1+u) over samples or
// over any law of u (the exact chain's quasi-stationary law, for example).
func PowerLawPhi(mlog, a float64) (float64, error) {
	if !(mlog > 0) || math.IsInf(mlog, 0) {
		return math.NaN(), fmt.Errorf("power-law fit: mean log(1+u) = %v must be positive and finite", mlog)
	}
	f := func(phi float64) float64 { return mathext.Digamma(phi) - mathext.Digamma(phi-a) - mlog }
	// f decreases from +inf (phi -> a) to 0 (phi -> inf): bracket and bisect.
	lo, hi := a+1e-12, a+1
	for f(hi) > 0 {
		hi = a + 2*(hi-a)
		if hi > 1e9 {
			return math.NaN(), errors.New("power-law fit: no finite exponent (samples too concentrated at the " +
				"minimum)")
		}
	}
	for i := 0; i < 200 && hi-lo > 1e-13*hi; i++ {
		mid := 0.5 * (lo + hi)
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi), nil
}

// PowerLawPhiSlope is dphi/dmlog at phi: 1/(psi'(phi) - psi'(phi - a)) (negative), for the
// error of phi propagated from the error of mlog.
func PowerLawPhiSlope(phi, a float64) float64 { return 1 / (trigamma(phi) - trigamma(phi-a)) }

// FitGibbs fits the Gibbs law exp(-L/T): u ~ Gamma(shape a, rate lstar/T), T = lstar mean(u)/a.
func FitGibbs(u []float64, a, lstar, tau float64) (Fit, error) {
	if len(u) < 10 {
		return Fit{}, fmt.Errorf("Gibbs fit needs at least 10 samples, got %d", len(u))
	}
	m := stat.Mean(u, nil)
	rate := a / m // in units of u
	T := lstar / rate
	n := float64(len(u))
	fit := Fit{Law: "Gibbs exp(-L/T)", Param: T, N: len(u), Tau: tau}
	// Var of the MLE of the mean is Var(u)/n = a/rate^2/n; T is proportional to the mean.
	fit.SE = T / math.Sqrt(a*n/tau)
	fit.Lo, fit.Hi = Interval95(T, fit.SE, 0)
	lg, _ := math.Lgamma(a)
	fit.PerLL = make([]float64, len(u))
	for i, v := range u {
		fit.PerLL[i] = a*math.Log(rate) + (a-1)*math.Log(v) - rate*v - lg
		fit.LogLik += fit.PerLL[i]
	}
	fit.KS, fit.KSp = ksTest(u, func(x float64) float64 { return mathext.GammaIncReg(a, rate*x) }, n/tau)
	return fit, nil
}

// ksTest returns the Kolmogorov-Smirnov distance of the samples to cdf and the asymptotic
// p-value for an effective sample size neff.
func ksTest(x []float64, cdf func(float64) float64, neff float64) (float64, float64) {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	n := float64(len(s))
	d := 0.0
	for i, v := range s {
		c := cdf(v)
		d = math.Max(d, math.Max(c-float64(i)/n, float64(i+1)/n-c))
	}
	return d, KolmogorovQ(d * (math.Sqrt(neff) + 0.12 + 0.11/math.Sqrt(neff)))
}

// KolmogorovQ is the Kolmogorov distribution's survival function Q(lambda) =
// 2 sum_k (-1)^(k-1) exp(-2 k^2 lambda^2).
func KolmogorovQ(l float64) float64 {
	if l < 0.2 {
		return 1
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		t := 2 * math.Exp(-2*float64(k*k)*l*l)
		if k%2 == 0 {
			t = -t
		}
		s += t
		if math.Abs(t) < 1e-12 {
			break
		}
	}
	return math.Max(0, math.Min(1, s))
}

// Vuong compares two non-nested models by their per-sample log-likelihoods: z = sqrt(n/tau)
// mean(d) / sd(d), d = l1 - l2. z > 0 favours model 1; p is the two-sided p-value.
func Vuong(l1, l2 []float64, tau float64) (z, p float64) {
	d := make([]float64, len(l1))
	for i := range d {
		d[i] = l1[i] - l2[i]
	}
	m, v := stat.MeanVariance(d, nil)
	if v == 0 {
		return 0, 1
	}
	z = m / math.Sqrt(v) * math.Sqrt(float64(len(d))/tau)
	p = math.Erfc(math.Abs(z) / math.Sqrt2)
	return z, p
}
