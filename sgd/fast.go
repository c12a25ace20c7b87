package sgd

import (
	"math/bits"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/model"
)

// featureBatch runs SGD steps of FeatureLinear models with the MSE loss (f = phi(theta) . xt)
// in O(B d) per step without the general evaluator. It reads samples from the objective's
// packed rows [x, y] (shared, read-only) through its own permutation: for epoch sampling
// a Fisher-Yates shuffle of int32 indices once per epoch, consumed in order; for sampling
// with replacement a uniform index per sample.
type featureBatch struct {
	fl               model.FeatureLinear
	rows             []float64 // N x (dIn+1), shared
	perm             []int32
	n, dIn, d        int
	aug              bool
	mode             Sampling
	b                int
	pos              int
	rng              *rand.Rand
	phi, dphi, d2phi []float64
}

// maxFastSamples bounds the data size of the fast path (int32 indices).
const maxFastSamples = 1 << 30

func newFeatureBatch(o *model.Objective, mode Sampling, b int, rng *rand.Rand) *featureBatch {
	fl, ok := model.AsFeatureLinear(o.Model)
	if _, mse := o.Loss.(model.MSE); !ok || !mse || o.N() > maxFastSamples {
		return nil
	}
	d, n := fl.Features(), o.N()
	f := &featureBatch{fl: fl, rows: o.PackedRows(), n: n, dIn: o.Data.D, d: d, aug: fl.Augmented(), mode: mode, b: b, pos: n, rng: rng,
		phi: make([]float64, d), dphi: make([]float64, d), d2phi: make([]float64, d)}
	if mode == Epoch {
		f.perm = make([]int32, n)
		for i := range f.perm {
			f.perm[i] = int32(i)
		}
	}
	return f
}

// below returns a uniform integer in [0, n) from rng (Lemire's multiply-shift with rejection).
func below(rng *rand.Rand, n uint64) uint64 {
	hi, lo := bits.Mul64(rng.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(rng.Uint64(), n)
		}
	}
	return hi
}

// next returns the row of the next sample.
func (f *featureBatch) next() []float64 {
	w := f.dIn + 1
	var i int
	if f.mode == Replacement {
		i = int(below(f.rng, uint64(f.n)))
	} else {
		i = int(f.perm[f.pos])
		f.pos++
	}
	return f.rows[i*w : (i+1)*w]
}

// lossGrad draws the next batch and returns L_B with grad L_B in grad.
func (f *featureBatch) lossGrad(theta, grad []float64) float64 {
	if f.mode == Epoch && f.pos+f.b > f.n {
		// A fresh uniform permutation (Fisher-Yates); its first floor(N/B) B indices
		// partition the epoch.
		for i := f.n - 1; i > 0; i-- {
			j := below(f.rng, uint64(i+1))
			f.perm[i], f.perm[j] = f.perm[j], f.perm[i]
		}
		f.pos = 0
	}
	f.fl.Phi(theta, f.phi, f.dphi, f.d2phi)
	clear(grad)
	l := 0.0
	dIn := f.dIn
	for k := 0; k < f.b; k++ {
		row := f.next()
		x := row[:dIn]
		r := -row[dIn]
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
	s := 1 / float64(f.b)
	for i := range grad {
		grad[i] *= s * f.dphi[i]
	}
	return 0.5 * l * s
}
