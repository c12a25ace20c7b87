package curvature

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat"
)

// Estimate is a stochastic estimate with its standard error.
type Estimate struct {
	Value float64 `json:"value"`
	SE    float64 `json:"se"`
	N     int     `json:"samples"`
}

func rademacher(rng *rand.Rand, v []float64) {
	for i := range v {
		if rng.Uint64()&1 == 0 {
			v[i] = 1
		} else {
			v[i] = -1
		}
	}
}

// meanSE returns the mean and its standard error (NaN for one sample).
func meanSE(x []float64) (float64, float64) {
	if len(x) < 2 {
		return stat.Mean(x, nil), math.NaN()
	}
	m, sd := stat.MeanStdDev(x, nil)
	return m, stat.StdErr(sd, float64(len(x)))
}

// Hutchinson estimates tr(A) with m Rademacher probes: E[z^T A z] = tr A.
func Hutchinson(op Operator, m int, rng *rand.Rand) Estimate {
	n := op.Dim()
	z, az := make([]float64, n), make([]float64, n)
	samples := make([]float64, m)
	for i := range samples {
		rademacher(rng, z)
		op.Apply(z, az)
		samples[i] = dot(z, az)
	}
	v, se := meanSE(samples)
	return Estimate{v, se, m}
}

// BlockTraces estimates the traces of the diagonal blocks [off_b, off_b+len_b) of A at once
// from m Rademacher probes: E[z_b^T (A z)_b] = tr A_bb since E[z_b z_c^T] = 0 for b != c.
func BlockTraces(op Operator, offs, lens []int, m int, rng *rand.Rand) []Estimate {
	n := op.Dim()
	z, az := make([]float64, n), make([]float64, n)
	samples := make([][]float64, len(offs))
	for i := 0; i < m; i++ {
		rademacher(rng, z)
		op.Apply(z, az)
		for b := range offs {
			samples[b] = append(samples[b], dot(z[offs[b]:offs[b]+lens[b]], az[offs[b]:offs[b]+lens[b]]))
		}
	}
	out := make([]Estimate, len(offs))
	for b := range offs {
		v, se := meanSE(samples[b])
		out[b] = Estimate{v, se, m}
	}
	return out
}

// HutchPP estimates tr(A) with Hutch++ (Meyer, Musco, Musco, Woodruff 2021) using m
// operator applications: a third sketch a rank-m/3 range Q of A, tr(Q^T A Q) is exact, and
// Hutchinson with the remaining probes estimates the trace of the deflated remainder
// (I - QQ^T) A (I - QQ^T). The standard error is that of the remainder's estimate.
func HutchPP(op Operator, m int, rng *rand.Rand) (Estimate, error) {
	n := op.Dim()
	if m < 3 {
		return Estimate{}, fmt.Errorf("Hutch++ needs at least 3 matrix-vector products, got %d", m)
	}
	k := min(m/3, n)
	// Q = orth(A S) by modified Gram-Schmidt (twice), dropping dependent columns.
	var Q [][]float64
	s := make([]float64, n)
	for i := 0; i < k; i++ {
		rademacher(rng, s)
		y := make([]float64, n)
		op.Apply(s, y)
		ny := norm(y)
		for rep := 0; rep < 2; rep++ {
			for _, q := range Q {
				axpy(-dot(q, y), q, y)
			}
		}
		if nrm := norm(y); nrm > 1e-12*math.Max(ny, 1e-300) {
			scale(1/nrm, y)
			Q = append(Q, y)
		}
	}
	exact := 0.0
	aq := make([]float64, n)
	for _, q := range Q {
		op.Apply(q, aq)
		exact += dot(q, aq)
	}
	probes := m - 2*k // at least 1 for m >= 3: the remainder is always estimated (its SE needs 2)
	if len(Q) == n {
		return Estimate{exact, 0, m}, nil // Q spans the space: the trace is exact
	}
	z, az := make([]float64, n), make([]float64, n)
	samples := make([]float64, probes)
	for i := range samples {
		rademacher(rng, z)
		for _, q := range Q {
			axpy(-dot(q, z), q, z)
		}
		op.Apply(z, az)
		samples[i] = dot(z, az)
	}
	v, se := meanSE(samples)
	return Estimate{exact + v, se, m}, nil
}

// PowerIteration finds the k eigenvalues of largest magnitude by power iteration with
// deflation (Hotelling: A - sum lambda_j u_j u_j^T), each to relative change tol between
// iterations. It is slower than Lanczos and kept as an independent cross-check.
func PowerIteration(op Operator, k int, tol float64, maxIter int, rng *rand.Rand) (EigResult, error) {
	n := op.Dim()
	if k < 1 || k > n {
		return EigResult{}, fmt.Errorf("power iteration: k = %d must be between 1 and P = %d", k, n)
	}
	res := EigResult{Converged: true}
	v, av := make([]float64, n), make([]float64, n)
	for e := 0; e < k; e++ {
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		scale(1/norm(v), v)
		lam, prev := 0.0, math.Inf(1)
		ok := false
		for it := 0; it < maxIter; it++ {
			op.Apply(v, av)
			res.Matvecs++
			for j, u := range res.Vectors {
				axpy(-res.Values[j]*dot(u, v), u, av)
			}
			lam = dot(v, av)
			nv := norm(av)
			if nv == 0 {
				ok = true
				break
			}
			copy(v, av)
			scale(1/nv, v)
			if math.Abs(lam-prev) <= tol*math.Abs(lam) {
				ok = true
				break
			}
			prev = lam
		}
		op.Apply(v, av)
		for j, u := range res.Vectors {
			axpy(-res.Values[j]*dot(u, v), u, av)
		}
		axpy(-lam, v, av)
		res.Values = append(res.Values, lam)
		res.Vectors = append(res.Vectors, append([]float64(nil), v...))
		res.Residuals = append(res.Residuals, norm(av))
		if !ok {
			res.Converged = false
		}
	}
	if !res.Converged {
		return res, fmt.Errorf("power iteration did not converge in %d iterations: %w", maxIter, ErrNotConverged)
	}
	return res, nil
}
