package stats

import (
	"errors"
	"math"
	"slices"
)

// Tail-index estimators for a law with P(X > x) ~ x^-alpha: the Hill estimator on the k
// largest values and the Clauset-Shalizi-Newman choice of the threshold x_min by the
// Kolmogorov-Smirnov distance. Both look at the tail only, where a fit of the bulk (the
// beta-prime law of FitPowerLaw) sees mostly the body of the distribution.

// Tail is a tail-index estimate.
type Tail struct {
	Method string  `json:"method"`
	Alpha  float64 `json:"alpha"` // P(X > x) ~ x^-alpha
	SE     float64 `json:"se"`
	CILo   float64 `json:"ci95_lo"`
	CIHi   float64 `json:"ci95_hi"`
	K      int     `json:"k"`      // order statistics used
	XMin   float64 `json:"x_min"`  // the threshold: the (k+1)-th largest value
	KS     float64 `json:"ks"`     // KS distance of the tail to the fitted Pareto law
	N      int     `json:"n"`      // samples
	Choice string  `json:"choice"` // how k was chosen
}

// HillK is the stated default choice of k for n samples: k = 2 sqrt(n) (at least 10), a
// common rule that lets k grow while k/n -> 0.
func HillK(n int) int { return max(10, int(2*math.Sqrt(float64(n)))) }

// Hill estimates alpha from the k largest of the positive values x:
// 1/alpha = (1/k) sum_{i<k} log(x_(i)/x_(k)), with the asymptotic standard error
// alpha/sqrt(k) inflated by sqrt(tau) for correlated samples (tau the integrated
// autocorrelation time, 1 if independent) and a 95% interval from it.
func Hill(x []float64, k int, tau float64) (Tail, error) {
	pos := positives(x)
	if k < 2 || k >= len(pos) {
		return Tail{}, errors.New("Hill estimator: k must be between 2 and the number of positive samples - 1")
	}
	slices.Sort(pos)
	slices.Reverse(pos)
	return paretoFit(pos, k, tau, "Hill"), nil
}

// paretoFit is the Hill estimate on the k largest of the descending sorted values s, with
// the KS distance of those k values to the fitted Pareto law above s[k].
func paretoFit(s []float64, k int, tau float64, method string) Tail {
	xmin := s[k]
	sum := 0.0
	for _, v := range s[:k] {
		sum += math.Log(v / xmin)
	}
	alpha := float64(k) / sum
	se := alpha / math.Sqrt(float64(k)) * math.Sqrt(math.Max(tau, 1))
	// KS distance: the empirical tail of the k values (ascending) against 1 - (x/xmin)^-alpha.
	d := 0.0
	for i := 0; i < k; i++ {
		v := s[k-1-i] // ascending
		c := 1 - math.Pow(v/xmin, -alpha)
		d = math.Max(d, math.Max(math.Abs(c-float64(i)/float64(k)), math.Abs(float64(i+1)/float64(k)-c)))
	}
	lo, hi := Interval95(alpha, se, 0)
	return Tail{Method: method, Alpha: alpha, SE: se, CILo: lo, CIHi: hi, K: k, XMin: xmin, KS: d, N: len(s)}
}

// CSN chooses the threshold by the method of Clauset, Shalizi and Newman (SIAM Review
// 2009): for every candidate k (the k largest values above x_min = x_(k)) with k >= kMin
// and k <= n/2, fit alpha by maximum likelihood (the Hill estimate) and keep the k whose
// fitted Pareto law is closest to the data in Kolmogorov-Smirnov distance. Candidates are
// spaced geometrically (about 200 of them) so the cost stays O(n log n).
func CSN(x []float64, kMin int, tau float64) (Tail, error) {
	pos := positives(x)
	kMin = max(kMin, 10)
	if 2*kMin > len(pos) {
		return Tail{}, errors.New("CSN estimator: too few positive samples for a tail fit")
	}
	slices.Sort(pos)
	slices.Reverse(pos)
	best := Tail{KS: math.Inf(1)}
	for k := kMin; k <= len(pos)/2; k = max(k+1, int(float64(k)*1.03)) {
		if f := paretoFit(pos, k, tau, "CSN"); f.KS < best.KS {
			best = f
		}
	}
	return best, nil
}

func positives(x []float64) []float64 {
	out := make([]float64, 0, len(x))
	for _, v := range x {
		if v > 0 && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}
