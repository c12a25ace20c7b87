package noise

import (
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
	// Ratio = Noise / ((2L/K) JacNorm) for K outputs: 1 when the decoupling approximation
	// holds for the trace (residuals uncorrelated with the Jacobians and spread evenly over
	// the outputs, docs/theory.md "SGD noise"); NaN at L = 0.
	Ratio num.Float `json:"ratio"`
}

// MeasureStrength computes Noise(theta) and L(theta) and, when withJac is set, the
// decoupled prediction (2L/K) JacNorm (one more backward pass per output).
func (s *State) MeasureStrength(withJac bool) Strength {
	o := s.W.Objective()
	st := Strength{Loss: s.L}
	gn := gram.SampleNorms(o, s.Theta, s.DLdF)
	for _, v := range gn {
		st.Noise += v
	}
	st.Noise = st.Noise/float64(len(gn)) - dot(s.Grad, s.Grad)
	if withJac {
		for _, v := range gram.JacobianNorms(o, s.Theta) {
			st.JacNorm += v
		}
		st.JacNorm /= float64(len(gn))
		st.Ratio = num.Float(st.Noise / (2 * s.L / float64(o.K()) * st.JacNorm))
	}
	return st
}
