package experiment

// The criteria of every verdict: named constants, and their descriptions shown in the report
// beside each verdict (keyed by experiment; "noise" serves E2, E3 and E6).

// The E1 criteria.
const (
	e1Cosine = 0.95 // the matrices agree where the noise is large: Frobenius cosine at least this ...
	e1Hist   = 0.8  // ... and their eigenvalue histograms overlap at least this much
)

// The E4 criteria.
const (
	e4RelTol   = 0.10 // SGD's phi agrees with theory when within 10% (mean over B) ...
	e4EtaSmall = 0.5  // ... at every eta up to this one (the paper expects a finite-eta effect above)
	e4Sigma    = 3    // an SDE reproduces phi when within this many standard errors
)

// e5Sigma is the largest |slope - exponent| in standard errors counted as agreement.
const e5Sigma = 3

// The criteria of the Noise-against-L experiments.
const (
	noiseSlopeTol = 0.15 // proportionality: the log-log slope within this of 1 ...
	noiseMinRange = 10   // ... over a fit in which L falls by at least this factor
	noiseRatioTol = 0.25 // the decoupled trace (2L/K) JacNorm matches Noise within this fraction
)

// x1PReject is the p-value at or below which a model is rejected.
const x1PReject = 0.01

// x2Factor is the factor within which a measured rate counts as agreeing with a prediction:
// the 95% interval of the rate must reach [prediction/x2Factor, prediction*x2Factor].
const x2Factor = 2

var criteria = map[string][]Criterion{
	"E1": {
		{"Frobenius cosine", e1Cosine,
			"the two matrices agree in their large eigenvalues when the cosine is at least this at every checkpoint"},
		{"histogram overlap", e1Hist,
			"and in their whole spectrum when the eigenvalue histograms overlap at least this much"},
	},
	"E4": {
		{"relative tolerance of SGD's phi", e4RelTol,
			"SGD agrees when its phi, averaged over B, is within this fraction of 1 + B/(eta h*) ..."},
		{"largest eta judged", e4EtaSmall, "... at every eta up to this value"},
		{"SDE deviation (standard errors)", e4Sigma,
			"an SDE reproduces 1 + B/(eta h*) when every fit is within this many standard errors"},
	},
	"E5": {
		{"slope deviation (standard errors)", e5Sigma,
			"SGD's log-log slope agrees with B/(eta h*) + 1 - d/2 when within this many standard errors"},
	},
	"noise": {
		{"slope tolerance", noiseSlopeTol, "Noise ∝ L when the log-log slope is within this of 1 ..."},
		{"range of L", noiseMinRange,
			"... over a fit in which L falls by at least this factor; a shorter range is inconclusive"},
		{"decoupled trace tolerance", noiseRatioTol,
			"Noise matches (2L/K) (1/N) sum |J|_F^2 when their ratio stays within 1 ± this over the fit"},
	},
	"X1": {
		{"rejection p-value", x1PReject,
			"a model is rejected when its chi-square p-value on log kappa is at or below this value, and fits " +
				"above it"},
	},
	"X3": {
		{"rejection p-value", x1PReject, "the power law fits SGD's occupation ratios when its chi-square p-value on " +
			"log(p_A/p_B) is above this value; otherwise the preference counts as following the theory when each " +
			"sweep's slope has the predicted sign and is at least two standard errors from zero"},
	},
	"X2": {
		{"agreement factor", x2Factor, "a rate agrees with a prediction when its 95% interval overlaps " +
			"[prediction/2, 2 prediction]; it deviates when the whole interval lies outside"},
	},
}
