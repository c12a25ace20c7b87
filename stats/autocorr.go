// Package stats holds the estimators sgdlab reports: autocorrelation times and effective
// sample sizes of Markov chains, maximum-likelihood fits of the power-law and Gibbs
// stationary laws with confidence intervals and goodness of fit, censored exponential
// waiting times, and weighted straight-line fits. All are pure functions of numbers.
package stats

import (
	"math"

	"gonum.org/v1/gonum/stat"
)

// AutocorrTime returns the integrated autocorrelation time tau = 1 + 2 sum_{k>=1} rho_k of the
// series x, with Sokal's automatic window: the sum stops at the first lag M with M >= c tau(M),
// c = 5. For independent samples tau = 1; the effective sample size is len(x)/tau. Values
// below 1 (from anti-correlation or noise) are reported as 1.
func AutocorrTime(x []float64) (tau float64, window int) {
	n := len(x)
	if n < 4 {
		return 1, 0
	}
	m, v := stat.MeanVariance(x, nil)
	if v == 0 {
		return 1, 0
	}
	v *= float64(n-1) / float64(n)
	tau = 1
	for k := 1; k < n/2; k++ {
		c := 0.0
		for i := 0; i+k < n; i++ {
			c += (x[i] - m) * (x[i+k] - m)
		}
		tau += 2 * c / (float64(n) * v)
		if float64(k) >= 5*tau {
			return math.Max(tau, 1), k
		}
	}
	return math.Max(tau, 1), n / 2
}
