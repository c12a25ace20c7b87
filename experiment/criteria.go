package experiment

import "fmt"

// The criteria of every check: named thresholds, shown in the report beside the verdict
// (each result lists the criteria its checks applied).

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

// minEscapes is the fewest escapes a measured rate or mean first-passage time needs for a
// check to rest on it: with fewer, its 95% interval spans more than a factor 3 and a check
// against a factor band or a few standard errors would pass by its width alone.
const minEscapes = 10

// zSigma is the largest difference in standard errors counted as agreement between two
// measurements (the exact chain against SGD's ensembles).
const zSigma = 3

var (
	critE1Cosine = Criterion{"Frobenius cosine", e1Cosine,
		"the two matrices agree in their large eigenvalues when the cosine is at least this at every checkpoint"}
	critE1Hist = Criterion{"histogram overlap", e1Hist,
		"and in their whole spectrum when the eigenvalue histograms overlap at least this much"}
	critE4Rel = Criterion{"relative tolerance of phi", e4RelTol, fmt.Sprintf("a phi (averaged over B) agrees with "+
		"a prediction when within this fraction of it; SGD against 1 + B/(eta h*) is judged at every eta up to "+
		"%g", e4EtaSmall)}
	critE4Sigma = Criterion{"deviation (standard errors)", e4Sigma,
		"two phis agree when they differ by at most this many standard errors in every configuration"}
	critE5Sigma = Criterion{"slope deviation (standard errors)", e5Sigma,
		"SGD's log-log slope agrees with B/(eta h*) + 1 - d/2 when within this many standard errors; a slope " +
			"whose band of this many standard errors is as wide as the prediction itself is not judged, nor is a " +
			"prediction outside the formula's domain (eta h* >= 2, or an exponent that is not positive)"}
	critNoiseSlope = Criterion{"slope tolerance", noiseSlopeTol, "Noise ∝ L when the log-log slope is within " +
		"this of 1 ..."}
	critNoiseRange = Criterion{"range of L", noiseMinRange,
		"... over a fit in which L falls by at least this factor; a shorter range is inconclusive"}
	critNoiseRatio = Criterion{"decoupled trace tolerance", noiseRatioTol,
		"(2L/K) (1/N) sum |J|_F^2 matches Noise when their ratio stays within 1 ± this over the fit"}
	critX1P = Criterion{"rejection p-value", x1PReject,
		"a model is rejected when its chi-square p-value on log kappa is at or below this value, and fits above it"}
	critX3P = Criterion{"rejection p-value", x1PReject, "the power law fits SGD's occupation ratios when its " +
		"chi-square p-value on log(p_A/p_B) is above this value"}
	critX3Trend = Criterion{"trend (standard errors)", 2, "a sweep's slope of log(p_A/p_B) follows the theory " +
		"when it has the predicted sign and lies at least this many standard errors from zero"}
	critX2Factor = Criterion{"agreement factor", x2Factor, fmt.Sprintf("a rate agrees with a prediction when its "+
		"exact 95%% interval overlaps [prediction/2, 2 prediction] and rests on at least %d escapes (with fewer it "+
		"is uninformative); it deviates when the whole interval lies outside, with any number of escapes",
		minEscapes)}
	critChainZ = Criterion{"exact chain against SGD (standard errors)", zSigma, fmt.Sprintf("the exact chain's "+
		"prediction agrees with SGD with replacement when they differ by at most this many standard errors of "+
		"the measurement (with at least %d escapes)", minEscapes)}
	critChainRate = Criterion{"exact chain inside SGD's interval", 0.95, fmt.Sprintf("the exact chain's rate "+
		"agrees with SGD with replacement when it lies inside the measured rate's exact 95%% interval and that "+
		"rests on at least %d escapes; it deviates when it lies outside, with any number of escapes", minEscapes)}
)
