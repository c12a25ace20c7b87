package noise

import (
	"math"

	"github.com/sgdlab/sgdlab/gram"
	"github.com/sgdlab/sgdlab/num"
)

// Strength is the scalar noise strength (docs/theory.md, "SGD noise") at one parameter point.
type Strength struct {
	Loss float64 `json:"loss"`
	// Noise = (1/N) sum_mu |grad l_mu|^2 - |grad L|^2; tr Sigma = Noise / B with replacement.
	Noise float64 `json:"noise"`
	// JacNorm = (1/N) sum_mu sum_k |grad f_k(x_mu)|^2: the factor in Noise ~ (2L/K) JacNorm.
	JacNorm float64 `json:"jac_norm"`
	// Ratio = (2L/K) JacNorm / Noise for K outputs, approximation over exact like the trace
	// ratios of Agreement (it equals the decoupled form's trace ratio): 1 when the decoupling
	// approximation holds for the trace (residuals uncorrelated with the Jacobians and spread
	// evenly over the outputs, docs/theory.md "SGD noise"); NaN (not defined) when Noise = 0.
	Ratio num.Float `json:"decoupled_ratio" check:"nonneg"`
}

// MeasureStrength computes Noise(theta) and L(theta) and, when withJac is set, the
// decoupled prediction (2L/K) JacNorm (one more backward pass per output).
func (s *State) MeasureStrength(withJac bool) Strength {
	o := s.W.Objective()
	st := Strength{Loss: s.L}
	gn := gram.SampleNorms(o, s.Theta, s.DLdF)
	m2 := 0.0
	for _, v := range gn {
		m2 += v
	}
	m2 /= float64(len(gn))
	st.Noise = m2 - dot(s.Grad, s.Grad)
	if st.Noise <= roundingFloor(o.N(), o.P())*m2 {
		// The difference of the two moments is rounding: every per-sample gradient equals the
		// mean gradient (one sample, or identical samples) and there is no noise.
		st.Noise = 0
	}
	if withJac {
		for _, v := range gram.JacobianNorms(o, s.Theta) {
			st.JacNorm += v
		}
		st.JacNorm /= float64(len(gn))
		st.Ratio = num.Float(DecoupledRatio(s.L, st.JacNorm, st.Noise, o.K()))
	}
	return st
}

// roundingFloor bounds, relative to the second moment (1/N) sum |grad l|^2, the rounding
// error of Noise = (1/N) sum |grad l|^2 - |grad L|^2: both terms are sums over N samples of
// dot products of length P, each with a relative error of at most (N + P) unit roundoffs.
// A Noise below it is not distinguishable from zero.
func roundingFloor(n, p int) float64 {
	return 4 * float64(n+p) * 0x1p-53
}

// DecoupledRatio is (2L/K) JacNorm / Noise, or NaN when Noise is not positive (no noise to
// compare with). Stored training records are judged through it rather than a stored ratio.
func DecoupledRatio(loss, jacNorm, noise float64, k int) float64 {
	if !(noise > 0) {
		return math.NaN()
	}
	return 2 * loss / float64(k) * jacNorm / noise
}
