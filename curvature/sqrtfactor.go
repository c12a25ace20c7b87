package curvature

import "math"

// SqrtFactor is a P x R matrix F with F F^T = H (H a positive semi-definite matrix, or its
// restriction to R eigen-directions). The SDE models of SGD draw their noise as F xi with
// H = H* at the minimum (the decoupled, log-landscape and Hessian-aligned Langevin SDEs).
type SqrtFactor struct {
	P, R int
	Data []float64 // P x R, row-major
	Eigs []float64 // the eigenvalues of H* used (length R)
	// Dropped counts eigenvalues of H* that were <= 0 and left out (H* should be PSD at a minimum).
	Dropped int
}

// DenseFactor returns F = U sqrt(Lambda) from the eigendecomposition of the dense P x P
// matrix h, keeping only positive eigenvalues; nil when h is not finite.
func DenseFactor(p int, h []float64) *SqrtFactor {
	vals, vecs, err := Eigen(p, h, true)
	if err != nil {
		return nil
	}
	f := &SqrtFactor{P: p}
	var keep []int
	for i, v := range vals {
		if v > 0 {
			keep = append(keep, i)
		} else {
			f.Dropped++
		}
	}
	f.R = len(keep)
	f.Data = make([]float64, p*f.R)
	for c, i := range keep {
		s := math.Sqrt(vals[i])
		f.Eigs = append(f.Eigs, vals[i])
		for r := 0; r < p; r++ {
			f.Data[r*f.R+c] = vecs.At(r, i) * s
		}
	}
	return f
}

// LowRankFactor returns F = U sqrt(Lambda) from R eigenpairs (vals[i], vecs[i]).
func LowRankFactor(vals []float64, vecs [][]float64) *SqrtFactor {
	p := len(vecs[0])
	f := &SqrtFactor{P: p}
	for _, v := range vals {
		if v <= 0 {
			f.Dropped++
			continue
		}
		f.Eigs = append(f.Eigs, v)
	}
	f.R = len(f.Eigs)
	f.Data = make([]float64, p*f.R)
	c := 0
	for i, v := range vals {
		if v <= 0 {
			continue
		}
		s := math.Sqrt(v)
		for r := 0; r < p; r++ {
			f.Data[r*f.R+c] = vecs[i][r] * s
		}
		c++
	}
	return f
}

// FactorFrom builds the H* factor from eigenpairs of H* in descending order: all positive
// eigenvalues when the spectrum is complete, else the top n (the outlier directions of
// docs/theory.md, "Continuous time", where the noise is treated as living).
func FactorFrom(eigs []float64, vecs [][]float64, complete bool, n int) *SqrtFactor {
	if !complete {
		eigs, vecs = eigs[:min(n, len(eigs))], vecs[:min(n, len(vecs))]
	}
	return LowRankFactor(eigs, vecs)
}

// Apply writes s F xi into out.
func (f *SqrtFactor) Apply(s float64, xi, out []float64) {
	for r := 0; r < f.P; r++ {
		row := f.Data[r*f.R : (r+1)*f.R]
		v := 0.0
		for c, x := range row {
			v += x * xi[c]
		}
		out[r] = s * v
	}
}
