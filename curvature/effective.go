package curvature

import (
	"math"
	"sort"
)

// Outlier rule defaults.
const (
	// MinGapRatio is the smallest ratio lambda_n / lambda_{n+1} that counts as the edge
	// between outliers and the bulk.
	MinGapRatio = 2.0
	// FloorFraction keeps the ratio finite at (near-)zero eigenvalues: the denominator is
	// at least FloorFraction * lambda_1.
	FloorFraction = 1e-6
)

// Outliers is the effective dimension of a positive semi-definite spectrum.
type Outliers struct {
	N        int     `json:"n"`         // number of outlier eigenvalues
	HStar    float64 `json:"h_star"`    // arithmetic mean of the outliers (the theory's h*)
	HGeo     float64 `json:"h_geo"`     // geometric mean of the outliers
	HMin     float64 `json:"h_min"`     // smallest outlier
	HMax     float64 `json:"h_max"`     // largest outlier
	GapRatio float64 `json:"gap_ratio"` // lambda_n / max(lambda_{n+1}, 1e-6 lambda_1)
	Complete bool    `json:"complete"`  // the eigenvalues given were the whole spectrum
	Rule     string  `json:"rule"`
}

// OutlierRule is the documented rule FindOutliers applies.
const OutlierRule = "n = argmax_i lambda_i / max(lambda_{i+1}, 1e-6 lambda_1) over the top eigenvalues " +
	"(lambda_{P+1} = 0 when the whole spectrum is known), accepted if that ratio is >= 2, else n = 0; " +
	"h* = mean of the n outliers"

// FindOutliers applies OutlierRule to the top eigenvalues (any order). complete says that
// they are all P eigenvalues, so that a gap to zero below the smallest one counts.
func FindOutliers(top []float64, complete bool) Outliers {
	l := append([]float64(nil), top...)
	sort.Sort(sort.Reverse(sort.Float64Slice(l)))
	o := Outliers{Complete: complete, Rule: OutlierRule}
	if len(l) == 0 || l[0] <= 0 {
		return o
	}
	floor := FloorFraction * l[0]
	best, bestRatio := 0, 0.0
	last := len(l) - 1
	if complete {
		last = len(l)
	}
	for i := 0; i < last; i++ {
		next := 0.0
		if i+1 < len(l) {
			next = l[i+1]
		}
		r := l[i] / math.Max(next, floor)
		if r > bestRatio*(1+1e-12) {
			best, bestRatio = i+1, r
		}
	}
	o.GapRatio = bestRatio
	if bestRatio < MinGapRatio {
		return o
	}
	o.N = best
	logSum := 0.0
	o.HMin, o.HMax = math.Inf(1), 0
	for _, v := range l[:best] {
		o.HStar += v
		logSum += math.Log(v)
		o.HMin = math.Min(o.HMin, v)
		o.HMax = math.Max(o.HMax, v)
	}
	o.HStar /= float64(best)
	o.HGeo = math.Exp(logSum / float64(best))
	return o
}

// Maddox returns the effective dimension sum_i lambda_i / (lambda_i + z) (Maddox, Benton,
// Wilson 2020) of known eigenvalues, negative ones counted as zero.
func Maddox(eigs []float64, z float64) float64 {
	s := 0.0
	for _, l := range eigs {
		if l > 0 {
			s += l / (l + z)
		}
	}
	return s
}

// MaddoxFunc is the function whose trace is the Maddox effective dimension.
func MaddoxFunc(z float64) func(float64) float64 {
	return func(l float64) float64 {
		if l <= 0 {
			return 0
		}
		return l / (l + z)
	}
}
