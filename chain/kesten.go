package chain

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sgdlab/sgdlab/seed"
)

// Kesten's theorem (docs/theory.md, "Discrete time"): the random affine recursion
// theta' = A theta + b of SGD on linear regression has a stationary law with a power-law tail
// P(|theta| > t) ~ t^-alpha, where alpha > 0 solves lim (1/n) log E|A_n ... A_1|^alpha = 0; in
// one dimension E|A|^alpha = 1. m(alpha) = log E|A|^alpha is convex with m(0) = 0 and
// m'(0) = E log|A| < 0 for a chain that contracts on average, so the root is unique.

// ErrNoTail is returned when m stays negative: |A| > 1 never happens, or too rarely for a
// tail exponent below 10^6 (no heavy tail).
var ErrNoTail = errors.New("no heavy tail: |A| > 1 never happens, or too rarely for a tail exponent below 10^6")

// ErrNoStationary is returned when m is not negative just above 0: the multiplier does not
// contract on average (m'(0) = E log|A u|, the Lyapunov exponent, is not negative; or the
// tail exponent is below 10^-6), so the chain has no stationary law and its parameters are
// not confined.
var ErrNoStationary = errors.New("no stationary law: the step's multiplier does not contract on average " +
	"(E log|A u| >= 0), so the parameters are not confined")

// rootAlpha finds the positive root of a convex m with m(0) = 0 and m'(0) < 0.
func rootAlpha(m func(float64) float64) (float64, error) {
	// The bracket starts at 1e-6, not at 0 where m vanishes: the secant would stop there.
	lo, hi := 1e-6, 1.0
	flo := m(lo)
	if !(flo < 0) {
		return math.NaN(), ErrNoStationary
	}
	fhi := m(hi)
	for fhi < 0 {
		lo, flo, hi = hi, fhi, 2*hi
		if hi > 1e6 {
			return math.Inf(1), ErrNoTail
		}
		fhi = m(hi)
	}
	// Illinois regula falsi on the bracket: superlinear for a smooth convex m. A value of m
	// beyond floating-point range at hi is bisected away first (the secant needs two finite ends).
	for k := 0; math.IsInf(fhi, 1) && k < 60; k++ {
		mid := (lo + hi) / 2
		switch fm := m(mid); {
		case fm < 0:
			lo, flo = mid, fm
		default:
			hi, fhi = mid, fm
		}
	}
	if math.IsNaN(flo+fhi) || math.IsInf(fhi, 0) {
		return math.NaN(), fmt.Errorf("the tail exponent's equation could not be evaluated (log E|A|^alpha = %v "+
			"at alpha = %.4g)", fhi, hi)
	}
	side := 0
	for range 100 {
		mid := (lo*fhi - hi*flo) / (fhi - flo)
		fm := m(mid)
		switch {
		case fm < 0:
			lo, flo = mid, fm
			if side == -1 {
				fhi /= 2
			}
			side = -1
		default:
			hi, fhi = mid, fm
			if side == 1 {
				flo /= 2
			}
			side = 1
		}
		if hi-lo < 1e-9*hi || fm == 0 {
			break
		}
	}
	return (lo*fhi - hi*flo) / (fhi - flo), nil
}

// logMeanPow returns log mean |a_i|^alpha in log space.
func logMeanPow(logAbs []float64, alpha float64) float64 {
	mx := math.Inf(-1)
	for _, l := range logAbs {
		mx = math.Max(mx, alpha*l)
	}
	s := 0.0
	for _, l := range logAbs {
		s += math.Exp(alpha*l - mx)
	}
	return mx + math.Log(s/float64(len(logAbs)))
}

// KestenMultipliers is alpha for an empirical law of one-dimensional multipliers a_i
// (mean |a_i|^alpha = 1): with B = 1 the N values 1 - eta x_mu^2 of a dataset give the exact
// tail of SGD with replacement on it.
func KestenMultipliers(a []float64) (float64, error) {
	logAbs := make([]float64, 0, len(a))
	for _, v := range a {
		if v != 0 {
			logAbs = append(logAbs, math.Log(math.Abs(v)))
		} else {
			logAbs = append(logAbs, math.Inf(-1))
		}
	}
	return rootAlpha(func(alpha float64) float64 { return logMeanPow(logAbs, alpha) })
}

// KestenBatches is alpha for one-dimensional regression data x with batch size b, with
// a = 1 - eta mean_batch x^2: with b = 1 exactly over the N samples (se = 0); with b > 1 over
// m Monte Carlo batches (with replacement) drawn from stream s, and the standard error from
// the spread of the roots of four disjoint quarters of them. A tail made by batches rarer
// than 1/m is not seen: when no batch has |a| > 1 the error is ErrNoTail.
func KestenBatches(x []float64, eta float64, b, m int, s uint64) (alpha, se float64, err error) {
	if b == 1 {
		a := make([]float64, len(x))
		for i, v := range x {
			a[i] = 1 - eta*v*v
		}
		alpha, err = KestenMultipliers(a)
		return alpha, 0, err
	}
	rng := seed.Stream(s, seed.Extra)
	a := make([]float64, m)
	for i := range a {
		sum := 0.0
		for range b {
			v := x[rng.IntN(len(x))]
			sum += v * v
		}
		a[i] = 1 - eta*sum/float64(b)
	}
	if alpha, err = KestenMultipliers(a); err != nil {
		return alpha, math.NaN(), err
	}
	const parts = 4
	var roots []float64
	for k := range parts {
		r, err := KestenMultipliers(a[k*m/parts : (k+1)*m/parts])
		if err != nil {
			return alpha, math.Inf(1), nil // a quarter sees no tail: the estimate is not resolved
		}
		roots = append(roots, r)
	}
	return alpha, stat.StdDev(roots, nil) / math.Sqrt(parts), nil
}

// kestenPanels is the number of Gauss-Legendre panels on each interval of the integral.
const kestenPanels = 400

// KestenGaussian is alpha for the Gaussian population x ~ N(0, h), batch size b: the batch
// mean of x^2 is h Y/b with Y ~ chi-square(b), so E|A|^alpha = E|1 - (eta h/b) Y|^alpha, an
// integral over z = sqrt(Y) done in log space: Gauss-Legendre panels on intervals cut at the
// zero z0 of 1 - c z^2 and around every peak of the integrand, summed as exp(log f - max).
func KestenGaussian(eta float64, b int, h float64) (float64, error) {
	c := eta * h / float64(b)
	fb := float64(b)
	lg, _ := math.Lgamma(fb / 2)
	// density of z = sqrt(Y): 2 z^(b-1) exp(-z^2/2) / (2^(b/2) Gamma(b/2))
	logNorm := math.Log(2) - fb/2*math.Ln2 - lg
	z0 := 1 / math.Sqrt(c)
	var leg quad.Legendre
	xs, ws := make([]float64, 16), make([]float64, 16)
	var lv, lw []float64
	m := func(alpha float64) float64 {
		logf := func(z float64) float64 {
			return alpha*math.Log(math.Abs(1-c*z*z)) + (fb-1)*math.Log(z) - z*z/2 + logNorm
		}
		// The peaks, each of width O(1) in z: the bulk near sqrt(b); beside the zero, where
		// alpha log|1 - c z^2| meets the bulk's decay (about sqrt(alpha/2) from z0 when z0 is
		// inside the bulk); and beyond z0 near y = z^2 = 2 alpha + b + 1/c, where alpha c/(c y -
		// 1) balances 1/2 - (b/2 - 1)/y. Each gets a window of +-40.
		zpeak := math.Sqrt(2*alpha + fb + 1/c)
		zmax := math.Max(z0, zpeak) + 40
		cuts := []float64{0, z0, zmax}
		for _, p := range []float64{math.Sqrt(fb), zpeak, z0 - math.Sqrt(alpha/2), z0 + math.Sqrt(alpha/2)} {
			for _, z := range []float64{p - 40, p, p + 40} {
				if z > 0 && z < zmax && z != z0 {
					cuts = append(cuts, z)
				}
			}
		}
		slices.Sort(cuts)
		lv, lw = lv[:0], lw[:0]
		for i := 1; i < len(cuts); i++ {
			w := (cuts[i] - cuts[i-1]) / kestenPanels
			for k := 0; k < kestenPanels; k++ {
				lo, hi := cuts[i-1]+float64(k)*w, cuts[i-1]+float64(k+1)*w
				if !(hi > lo) {
					break // an interval too short to split in floating point
				}
				leg.FixedLocations(xs, ws, lo, hi)
				for j, z := range xs {
					if z > 0 && z != z0 {
						lv, lw = append(lv, logf(z)), append(lw, ws[j])
					}
				}
			}
		}
		mx := slices.Max(lv)
		total := 0.0
		for j, l := range lv {
			total += lw[j] * math.Exp(l-mx)
		}
		return mx + math.Log(total)
	}
	return rootAlpha(m)
}

// KestenProducts estimates alpha for random d x d matrices drawn by draw (into a, d x d
// row-major) from lim (1/n) log E|A_n ... A_1 v|^alpha = 0 by population dynamics: walkers
// of unit vectors are multiplied by independent draws and resampled with weights
// |A v|^alpha, and the mean log of the average weight estimates the generalised Lyapunov
// exponent Lambda(alpha). A finite population biases Lambda by about 1/walkers; each replica
// finds the root with walkers and with walkers/2 (common random numbers across alpha) and
// extrapolates, 2 r(W) - r(W/2), which removes that leading term. The result is the mean of
// the replicas' extrapolated roots with its standard error, and the size of the correction.
func KestenProducts(draw func(rng *rand.Rand, a []float64), d, walkers, steps, replicas int,
	s uint64) (alpha, se, correction float64, err error) {
	var roots, corr []float64
	for r := 0; r < replicas; r++ {
		var at [2]float64
		for h, w := range []int{walkers, walkers / 2} {
			lambda := func(alpha float64) float64 {
				return lyapunov(draw, d, w, steps, alpha, seed.Stream(s, uint64(2*r+h)))
			}
			if at[h], err = rootAlpha(lambda); err != nil {
				return math.NaN(), math.NaN(), math.NaN(), err
			}
		}
		roots = append(roots, 2*at[0]-at[1])
		corr = append(corr, at[0]-at[1])
	}
	mean, sd := stat.MeanStdDev(roots, nil)
	return mean, sd / math.Sqrt(float64(len(roots))), stat.Mean(corr, nil), nil
}

// lyapunov is one population-dynamics estimate of Lambda(alpha) (the first steps/10 steps
// are discarded as burn-in).
func lyapunov(draw func(rng *rand.Rand, a []float64), d, walkers, steps int, alpha float64, rng *rand.Rand) float64 {
	v := make([]float64, walkers*d)
	for k := 0; k < walkers; k++ {
		v[k*d] = 1
	}
	next := make([]float64, walkers*d)
	a := make([]float64, d*d)
	w := make([]float64, walkers)
	burn := steps / 10
	total := 0.0
	for t := 0; t < steps; t++ {
		sumW := 0.0
		for k := 0; k < walkers; k++ {
			draw(rng, a)
			x := v[k*d : (k+1)*d]
			y := next[k*d : (k+1)*d]
			nrm := 0.0
			for i := 0; i < d; i++ {
				s := 0.0
				for j := 0; j < d; j++ {
					s += a[i*d+j] * x[j]
				}
				y[i] = s
				nrm += s * s
			}
			nrm = math.Sqrt(nrm)
			for i := range y {
				y[i] /= nrm
			}
			w[k] = math.Pow(nrm, alpha)
			sumW += w[k]
		}
		if t >= burn {
			total += math.Log(sumW / float64(walkers))
		}
		// Resample walkers in proportion to their weights (systematic resampling, one pass).
		step := sumW / float64(walkers)
		u, acc, j := rng.Float64()*step, w[0], 0
		for k := 0; k < walkers; k++ {
			for acc < u && j < walkers-1 {
				j++
				acc += w[j]
			}
			copy(v[k*d:(k+1)*d], next[j*d:(j+1)*d])
			u += step
		}
	}
	return total / float64(steps-burn)
}

// KestenIsotropic is alpha for the isotropic Gaussian population x ~ N(0, h I_d) with batch
// size b, A = I - (eta/b) sum_batch x x^T. The law of A is invariant under rotations, so
// |A u| has the same law for every unit vector u whatever the past: the norms of a product
// applied to a vector are independent factors and E|A_n ... A_1 u|^alpha = (E|A u|^alpha)^n.
// alpha is then the root of log E|A e_1|^alpha over samples draws (a fixed sample, so the
// root is that of one convex function), with the delta-method standard error
// sd(|A e_1|^alpha) / (sqrt(samples) E[|A e_1|^alpha log|A e_1|]).
func KestenIsotropic(eta float64, b, d int, h float64, samples int, s uint64) (alpha, se float64, err error) {
	rng := seed.Stream(s, seed.Extra)
	logAbs := make([]float64, samples)
	c := eta * h / float64(b)
	// With x_k ~ N(0, I_d) (in units of h) and Y = sum_k x_k1^2 ~ chi-square(b), A e_1 has first
	// component 1 - c Y and, given the x_k1, independent components -c sum_k x_k1 x_kj ~ N(0,
	// c^2 Y), j = 2..d: |A e_1|^2 = (1 - c Y)^2 + c^2 Y Q with Q ~ chi-square(d - 1) independent
	// of Y. Two draws per sample whatever b and d.
	chiB := distuv.ChiSquared{K: float64(b), Src: rng}
	chiD := distuv.ChiSquared{K: float64(d - 1), Src: rng}
	for i := range logAbs {
		y := chiB.Rand()
		s := (1 - c*y) * (1 - c*y)
		if d > 1 {
			s += c * c * y * chiD.Rand()
		}
		logAbs[i] = 0.5 * math.Log(s)
	}
	alpha, err = rootAlpha(func(a float64) float64 { return logMeanPow(logAbs, a) })
	if err != nil {
		return alpha, math.NaN(), err
	}
	w, wl := make([]float64, samples), 0.0
	for i, l := range logAbs {
		w[i] = math.Exp(alpha * l)
		wl += w[i] * l / float64(samples)
	}
	return alpha, stat.StdDev(w, nil) / math.Sqrt(float64(samples)) / math.Abs(wl), nil
}
