package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sgdlab/sgdlab/num"
)

// Rate is the maximum-likelihood estimate of an exponential escape rate from first-passage
// times with right censoring: runs that did not escape within their budget contribute their
// observed time to the exposure but no event.
type Rate struct {
	Runs     int     `json:"runs"`
	Escaped  int     `json:"escaped"`
	Censored int     `json:"censored"`
	Exposure float64 `json:"exposure"` // total observed time
	Kappa    float64 `json:"rate"`     // escaped / exposure
	Lo       float64 `json:"rate_lo"`  // exact 95% Poisson interval for the rate
	Hi       float64 `json:"rate_hi"`
	// MFPT is the mean of the escape times when nothing was censored, else 1/Kappa (the MLE
	// of the mean waiting time under the exponential law); MFPTSE its standard error. With no
	// escape the MFPT is not measured (NaN, null in JSON): MFPTLo = 1/Hi, the lower end of the
	// rate interval's image, still bounds it from below at 95%.
	MFPT   num.Float `json:"mfpt" check:"pos"`
	MFPTSE num.Float `json:"mfpt_se" check:"nonneg"`
	MFPTLo num.Float `json:"mfpt_lo" check:"pos"`
	// CV is the coefficient of variation of the escape times (1 for an exponential law); NaN
	// (not measured) with fewer than two escapes.
	CV num.Float `json:"cv" check:"nonneg"`
	// ExpStat is Stephens' modified Kolmogorov-Smirnov statistic for exponentiality with an
	// estimated mean (uncensored runs only); ExpReject is true when it exceeds the 5%
	// critical value 1.094 (Stephens 1974; 0.990 at 10%, 1.308 at 1%).
	ExpStat   float64 `json:"exp_ks_stat"`
	ExpReject bool    `json:"exp_rejected"`
}

// EstimateRate computes the censored-exponential MLE. times[i] is the escape time of run i
// when escaped[i], else the time the run was observed for.
func EstimateRate(times []float64, escaped []bool) Rate {
	r := Rate{Runs: len(times)}
	var esc []float64
	for i, t := range times {
		r.Exposure += t
		if escaped[i] {
			r.Escaped++
			esc = append(esc, t)
		} else {
			r.Censored++
		}
	}
	k := float64(r.Escaped)
	if r.Exposure > 0 {
		r.Kappa = k / r.Exposure
		if r.Escaped > 0 {
			r.Lo = distuv.ChiSquared{K: 2 * k}.Quantile(0.025) / (2 * r.Exposure)
		}
		r.Hi = distuv.ChiSquared{K: 2 * (k + 1)}.Quantile(0.975) / (2 * r.Exposure)
	}
	r.MFPTLo = num.Float(math.NaN())
	if r.Hi > 0 {
		r.MFPTLo = num.Float(1 / r.Hi)
	}
	switch {
	case r.Escaped == 0:
		r.MFPT, r.MFPTSE = num.Float(math.NaN()), num.Float(math.NaN())
	case r.Censored == 0:
		// The standard error of a mean of one escape time is not measured (its spread is unknown).
		m, v := stat.Mean(esc, nil), math.NaN()
		if len(esc) > 1 {
			_, v = stat.MeanVariance(esc, nil)
		}
		r.MFPT, r.MFPTSE = num.Float(m), num.Float(math.Sqrt(v/float64(len(esc))))
	default:
		r.MFPT = num.Float(1 / r.Kappa)
		r.MFPTSE = r.MFPT / num.Float(math.Sqrt(k))
	}
	r.CV = num.Float(math.NaN())
	if len(esc) > 1 {
		m, v := stat.MeanVariance(esc, nil)
		r.CV = num.Float(math.Sqrt(v) / m)
	}
	if r.Censored == 0 && len(esc) >= 5 {
		s := append([]float64(nil), esc...)
		sort.Float64s(s)
		m := stat.Mean(s, nil)
		n := float64(len(s))
		d := 0.0
		for i, t := range s {
			c := 1 - math.Exp(-t/m)
			d = math.Max(d, math.Max(c-float64(i)/n, float64(i+1)/n-c))
		}
		r.ExpStat = (d - 0.2/n) * (math.Sqrt(n) + 0.26 + 0.5/math.Sqrt(n))
		r.ExpReject = r.ExpStat > 1.094
	}
	return r
}

// LineFit is a weighted least-squares straight line y = A + B x.
type LineFit struct {
	Slope, SlopeSE         float64
	Intercept, InterceptSE float64
	Chi2                   float64
	DOF                    int
}

// FitLine fits y = A + B x with standard errors sy (all > 0).
func FitLine(x, y, sy []float64) LineFit {
	var S, Sx, Sy, Sxx, Sxy float64
	for i := range x {
		w := 1 / (sy[i] * sy[i])
		S += w
		Sx += w * x[i]
		Sy += w * y[i]
		Sxx += w * x[i] * x[i]
		Sxy += w * x[i] * y[i]
	}
	d := S*Sxx - Sx*Sx
	f := LineFit{Slope: (S*Sxy - Sx*Sy) / d, Intercept: (Sxx*Sy - Sx*Sxy) / d, DOF: len(x) - 2}
	f.SlopeSE, f.InterceptSE = math.Sqrt(S/d), math.Sqrt(Sxx/d)
	for i := range x {
		r := (y[i] - f.Intercept - f.Slope*x[i]) / sy[i]
		f.Chi2 += r * r
	}
	return f
}

// ChiSquareP returns P(chi2_dof > x).
func ChiSquareP(x float64, dof int) float64 {
	if dof <= 0 {
		return math.NaN()
	}
	return 1 - distuv.ChiSquared{K: float64(dof)}.CDF(x)
}

// FitLineOLS fits y = A + B x by ordinary least squares (gonum's stat.LinearRegression)
// and returns the slope B with its standard error from the residual scatter (NaN with
// fewer than three points).
func FitLineOLS(x, y []float64) (slope, se float64) {
	_, slope = stat.LinearRegression(x, y, nil, false)
	if len(x) < 3 {
		return slope, math.NaN()
	}
	mx := stat.Mean(x, nil)
	var sxx, rss float64
	a := stat.Mean(y, nil) - slope*mx
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		r := y[i] - a - slope*x[i]
		rss += r * r
	}
	return slope, math.Sqrt(rss / float64(len(x)-2) / sxx)
}
