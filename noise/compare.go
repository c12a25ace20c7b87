package noise

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/num"
)

// DenseLimit is the largest P for which comparisons form P x P matrices.
const DenseLimit = 2000

// Agreement compares an approximate noise covariance A with the exact one S. Every measure
// is approximation over exact (TraceRatio = tr A / tr S, like Strength.Ratio). When S or A is
// zero the measures are not defined: they are NaN (null in JSON) and Undefined says why.
type Agreement struct {
	Form       string    `json:"form"`
	TraceRatio num.Float `json:"trace_ratio" check:"nonneg"` // tr A / tr S
	TraceSE    num.Float `json:"trace_ratio_se" check:"nonneg"`
	Cosine     num.Float `json:"cosine" check:"cos"` // <S, A>_F / (|S|_F |A|_F)
	CosineSE   num.Float `json:"cosine_se" check:"nonneg"`
	K          int       `json:"k"`
	// Overlap is (1/k) |U_S^T U_A|_F^2 of the top-k eigenvectors.
	Overlap num.Float `json:"topk_overlap" check:"prob"`
	Method  string    `json:"method"` // dense, gram or stochastic
	// RelResidual is |S - A|_F / |S|_F (dense route only).
	RelResidual num.Float `json:"rel_residual,omitempty" check:"nonneg"`
	Undefined   string    `json:"undefined,omitempty"`
}

// undefined marks every measure as not defined, for the reason given.
func (ag *Agreement) undefined(why string) {
	nan := num.Float(math.NaN())
	ag.TraceRatio, ag.TraceSE, ag.Cosine, ag.CosineSE, ag.Overlap, ag.RelResidual = nan, nan, nan, nan, nan, nan
	ag.Undefined = why
}

// notCompared says why the exact covariance S and an approximation A are not compared, or
// "": from positive measures of each (squared Frobenius norms, or traces) s and a, and A's
// trace trA. A zero matrix leaves nothing to compare; an approximation of negative trace
// (a positive multiple of G or of H*, positive semi-definite at a minimum) was taken at a
// point that is not a minimum.
func notCompared(s, a, trA float64) string {
	switch {
	case trA < 0:
		return fmt.Sprintf("the approximation's trace is negative (%.3g): its H* is not positive semi-definite, so "+
			"the point it was taken at is not a minimum", trA)
	case !(s > 0):
		return "the exact covariance is zero (every per-sample gradient equals the mean gradient, or every batch is " +
			"the whole data set): there is no noise to compare"
	case !(a > 0):
		return "the approximation is zero (L = 0 or a vanishing Gauss-Newton matrix): there is nothing to compare " +
			"the noise with"
	}
	return ""
}

// CompareDense forms both P x P matrices and compares them exactly.
func CompareDense(form string, S, A []float64, p, k int) (Agreement, error) {
	ag := Agreement{Form: form, K: k, Method: "dense"}
	trS, trA, sa, ss, aa, diff := 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
	for i := 0; i < p; i++ {
		trS += S[i*p+i]
		trA += A[i*p+i]
	}
	for i := range S {
		sa += S[i] * A[i]
		ss += S[i] * S[i]
		aa += A[i] * A[i]
		diff += (S[i] - A[i]) * (S[i] - A[i])
	}
	if why := notCompared(ss, aa, trA); why != "" {
		ag.undefined(why)
		return ag, nil
	}
	ag.TraceRatio, ag.TraceSE, ag.CosineSE = num.Float(trA/trS), 0, 0
	ag.Cosine = num.Float(sa / math.Sqrt(ss) / math.Sqrt(aa))
	ag.RelResidual = num.Float(math.Sqrt(diff / ss))
	_, us, err := curvature.Eigen(p, S, true)
	if err != nil {
		return ag, err
	}
	_, ua, err := curvature.Eigen(p, A, true)
	if err != nil {
		return ag, err
	}
	// Eigen returns ascending order: the top k are the last k columns.
	ov := 0.0
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			d := 0.0
			for r := 0; r < p; r++ {
				d += us.At(r, p-1-i) * ua.At(r, p-1-j)
			}
			ov += d * d
		}
	}
	ag.Overlap = num.Float(ov / float64(k))
	return ag, nil
}

// CompareOperators compares two operators without forming them: traces by Hutch++ (or
// the exact traces when given, non-NaN), the Frobenius cosine from probes z with
// E[(Sz).(Az)] = tr(SA), E|Sz|^2 = |S|_F^2 (jackknife standard error), and the top-k
// overlap from Lanczos eigenvectors of both.
func CompareOperators(form string, S, A curvature.Operator, trS, trA float64, k, probes int,
	rng *rand.Rand) (Agreement, error) {
	ag := Agreement{Form: form, K: k, Method: "stochastic"}
	var seS, seA float64
	if math.IsNaN(trS) {
		e, err := curvature.HutchPP(S, 3*probes, rng)
		if err != nil {
			return ag, err
		}
		trS, seS = e.Value, e.SE
	}
	if math.IsNaN(trA) {
		e, err := curvature.HutchPP(A, 3*probes, rng)
		if err != nil {
			return ag, err
		}
		trA, seA = e.Value, e.SE
	}
	if why := notCompared(trS, trA, trA); why != "" {
		ag.undefined(why)
		return ag, nil
	}
	ag.TraceRatio = num.Float(trA / trS)
	ag.TraceSE = num.Float(trA / trS * math.Hypot(seS/trS, seA/trA))
	n := S.Dim()
	z, sz, az := make([]float64, n), make([]float64, n), make([]float64, n)
	var psa, pss, paa []float64
	for i := 0; i < probes; i++ {
		for j := range z {
			z[j] = float64(1 - 2*int(rng.Uint64()&1))
		}
		S.Apply(z, sz)
		A.Apply(z, az)
		psa = append(psa, dot(sz, az))
		pss = append(pss, dot(sz, sz))
		paa = append(paa, dot(az, az))
	}
	cos := func(skip int) float64 {
		var a, b, c float64
		for i := range psa {
			if i != skip {
				a += psa[i]
				b += pss[i]
				c += paa[i]
			}
		}
		return a / math.Sqrt(b) / math.Sqrt(c)
	}
	ag.Cosine = num.Float(cos(-1))
	var jk []float64
	for i := range psa {
		jk = append(jk, cos(i))
	}
	m := 0.0
	for _, v := range jk {
		m += v
	}
	m /= float64(len(jk))
	v := 0.0
	for _, x := range jk {
		v += (x - m) * (x - m)
	}
	ag.CosineSE = num.Float(math.Sqrt(v * float64(len(jk)-1) / float64(len(jk))))
	ov, err := Overlap(S, A, k, rng)
	ag.Overlap = num.Float(ov)
	return ag, err
}

// Overlap is (1/k) |U_S^T U_A|_F^2 for the top-k eigenvectors of S and A (Lanczos).
func Overlap(S, A curvature.Operator, k int, rng *rand.Rand) (float64, error) {
	rs, err := curvature.Lanczos(S, curvature.LanczosOptions{K: k, Vectors: true, Tol: 1e-6, Rand: rng})
	if err != nil {
		return math.NaN(), err
	}
	ra, err := curvature.Lanczos(A, curvature.LanczosOptions{K: k, Vectors: true, Tol: 1e-6, Rand: rng})
	if err != nil {
		return math.NaN(), err
	}
	ov := 0.0
	for _, u := range rs.Vectors {
		for _, w := range ra.Vectors {
			d := dot(u, w)
			ov += d * d
		}
	}
	return ov / float64(k), nil
}
