package sgd

import "github.com/sgdlab/sgdlab/model"

// featureBatch computes mini-batch losses and gradients of FeatureLinear models with the MSE
// loss directly, f = phi(theta) . xt, in O(B d) without the general evaluator's overhead:
// the same arithmetic as the general path, for the small models where that overhead dominates.
type featureBatch struct {
	fl               model.FeatureLinear
	x, y             []float64
	dIn, d           int
	aug              bool
	phi, dphi, d2phi []float64
}

func newFeatureBatch(o *model.Objective) *featureBatch {
	fl, ok := model.AsFeatureLinear(o.Model)
	if _, mse := o.Loss.(model.MSE); !ok || !mse {
		return nil
	}
	d := fl.Features()
	return &featureBatch{fl: fl, x: o.Data.X, y: o.Data.Y, dIn: o.Data.D, d: d, aug: fl.Augmented(),
		phi: make([]float64, d), dphi: make([]float64, d), d2phi: make([]float64, d)}
}

// lossGrad returns L_B and writes grad L_B into grad.
func (f *featureBatch) lossGrad(theta []float64, idx []int, grad []float64) float64 {
	f.fl.Phi(theta, f.phi, f.dphi, f.d2phi)
	clear(grad)
	l := 0.0
	dIn := f.dIn
	for _, mu := range idx {
		x := f.x[mu*dIn : (mu+1)*dIn]
		r := -f.y[mu]
		for j, v := range x {
			r += f.phi[j] * v
		}
		if f.aug {
			r += f.phi[dIn]
			grad[dIn] += r
		}
		l += r * r
		for j, v := range x {
			grad[j] += r * v
		}
	}
	s := 1 / float64(len(idx))
	for i := range grad {
		grad[i] *= s * f.dphi[i]
	}
	return 0.5 * l * s
}
