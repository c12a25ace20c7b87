package sgd

import (
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/seed"
)

// featureBatch runs SGD steps of FeatureLinear models with the MSE loss (f = phi(theta) . xt)
// in O(B d) per step without the general evaluator.
//
// Epoch sampling is an incremental Fisher-Yates shuffle: the k-th sample of an epoch is
// drawn uniformly from the N-k not yet used and swapped into place k, so the first
// floor(N/B) B places form a uniform random permutation and the mini-batches partition it.
// When the packed rows [x, y] are small (at most maxOwnRows bytes) the runner shuffles its
// own copy of them, so each sample costs one random memory access; otherwise it shuffles
// int32 indices into the shared rows. Both give the same sequence of samples for a seed.
// Sampling with replacement draws a uniform index per sample.
type featureBatch struct {
	fl               model.FeatureLinear
	identity         bool      // phi(theta) = theta: no feature map to evaluate
	rows             []float64 // N x (dIn+1): shared (read-only), or owned and shuffled in place
	own              bool
	perm             []int32 // shuffled indices into rows when !own (epoch sampling)
	n, dIn, d        int
	aug              bool
	mode             Sampling
	b                int
	pos, end         int       // next place of the epoch; places used per epoch, floor(N/B) B
	src              *rand.PCG // its own generator, seeded from the runner's: direct calls in the hot loop
	phi, dphi, d2phi []float64
}

// maxFastSamples bounds the data size of the fast path (int32 indices).
const maxFastSamples = 1 << 30

// maxOwnRows is the largest packed dataset (bytes) a runner copies to shuffle in place
// (a variable so that tests can exercise both storage modes).
var maxOwnRows = 16 << 20

func newFeatureBatch(o *model.Objective, mode Sampling, b int, rng *rand.Rand) *featureBatch {
	fl, ok := model.AsFeatureLinear(o.Model)
	if _, mse := o.Loss.(model.MSE); !ok || !mse || o.N() > maxFastSamples {
		return nil
	}
	d, n := fl.Features(), o.N()
	f := &featureBatch{fl: fl, identity: model.IsIdentityFeatures(fl), rows: o.PackedRows(), n: n, dIn: o.Data.D, d: d,
		aug: fl.Augmented(), mode: mode, b: b, end: n / b * b, src: rand.NewPCG(rng.Uint64(), rng.Uint64()),
		phi: make([]float64, d), dphi: make([]float64, d), d2phi: make([]float64, d)}
	if f.identity {
		for i := range f.dphi {
			f.dphi[i] = 1
		}
	}
	if mode == Epoch {
		if len(f.rows)*8 <= maxOwnRows {
			f.rows, f.own = append([]float64(nil), f.rows...), true
		} else {
			f.perm = make([]int32, n)
			for i := range f.perm {
				f.perm[i] = int32(i)
			}
		}
	}
	return f
}

// next returns the row of the next sample.
func (f *featureBatch) next() []float64 {
	w := f.dIn + 1
	if f.mode == Replacement {
		i := int(seed.Below(f.src, uint64(f.n)))
		return f.rows[i*w : (i+1)*w]
	}
	if f.pos == f.end {
		f.pos = 0 // a new epoch; any arrangement is a valid start for Fisher-Yates
	}
	k := f.pos
	j := k + int(seed.Below(f.src, uint64(f.n-k)))
	f.pos++
	if !f.own {
		f.perm[k], f.perm[j] = f.perm[j], f.perm[k]
		i := int(f.perm[k])
		return f.rows[i*w : (i+1)*w]
	}
	if w == 2 {
		// One input and the label (1-D regression): swap without a loop.
		r := f.rows[2*k : 2*k+2 : 2*k+2]
		q := f.rows[2*j : 2*j+2 : 2*j+2]
		r[0], r[1], q[0], q[1] = q[0], q[1], r[0], r[1]
		return r
	}
	rk, rj := f.rows[k*w:(k+1)*w], f.rows[j*w:(j+1)*w]
	for c := range rk {
		rk[c], rj[c] = rj[c], rk[c]
	}
	return rk
}

// lossGrad draws the next batch and returns L_B with grad L_B in grad.
func (f *featureBatch) lossGrad(theta, grad []float64) float64 {
	phi := theta
	if !f.identity {
		f.fl.Phi(theta, f.phi, f.dphi, f.d2phi)
		phi = f.phi
	}
	s := 1 / float64(f.b)
	l := 0.0
	dIn := f.dIn
	if dIn == 1 && !f.aug {
		// One feature (1-D regression and the like): keep the sums in registers.
		p, g := phi[0], 0.0
		for range f.b {
			row := f.next()
			r := p*row[0] - row[1]
			l += r * r
			g += r * row[0]
		}
		grad[0] = g * s * f.dphi[0]
		return 0.5 * l * s
	}
	clear(grad)
	for k := 0; k < f.b; k++ {
		row := f.next()
		x := row[:dIn]
		r := -row[dIn]
		for j, v := range x {
			r += phi[j] * v
		}
		if f.aug {
			r += phi[dIn]
			grad[dIn] += r
		}
		l += r * r
		for j, v := range x {
			grad[j] += r * v
		}
	}
	if f.identity {
		for i := range grad {
			grad[i] *= s
		}
	} else {
		for i := range grad {
			grad[i] *= s * f.dphi[i]
		}
	}
	return 0.5 * l * s
}
