package sgd

import (
	"math/bits"
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
//
// Plain SGD with batch 1 on one-input linear regression (identity features, no bias) is
// affine per sample: theta -> a_mu theta + b_mu with a_mu = 1 - eta x_mu^2 and
// b_mu = eta x_mu y_mu, so that a step's dependent chain is one multiply and one add
// (AlgorithmVersion 4). With replacement the rows are [x, y, a, b] (a table shared by all
// runners of an objective and learning rate); with epochs a and b are computed from the
// shuffled [x, y] by the same expressions, off the dependent chain.
type featureBatch struct {
	fl               model.FeatureLinear
	identity         bool      // phi(theta) = theta: no feature map to evaluate
	rows             []float64 // N x w: shared (read-only), or owned and shuffled in place
	w                int       // row width: dIn+1, or 4 for the affine rows [x, y, a, b]
	affine           bool      // steps are theta -> a theta + b
	eta              float64   // the learning rate of a and b (affine)
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

// newFeatureBatch returns the fast path for o, or nil if it does not apply. affineEta > 0
// asks for the affine rows when they apply (plain SGD with learning rate affineEta).
func newFeatureBatch(o *model.Objective, mode Sampling, b int, rng *rand.Rand, affineEta float64) *featureBatch {
	fl, ok := model.AsFeatureLinear(o.Model)
	if _, mse := o.Loss.(model.MSE); !ok || !mse || o.N() > maxFastSamples {
		return nil
	}
	d, n := fl.Features(), o.N()
	f := &featureBatch{fl: fl, identity: model.IsIdentityFeatures(fl), rows: o.PackedRows(), w: o.Data.D + 1, n: n,
		dIn: o.Data.D, d: d, aug: fl.Augmented(), mode: mode, b: b, end: n / b * b,
		src: rand.NewPCG(rng.Uint64(), rng.Uint64()), phi: make([]float64, d), dphi: make([]float64, d),
		d2phi: make([]float64, d)}
	if affineEta > 0 && f.identity && d == 1 && f.dIn == 1 && !f.aug && b == 1 {
		f.affine, f.eta = true, affineEta
		if mode == Replacement {
			// Shared and read-only: the coefficients are looked up. Epoch sampling swaps
			// rows, and computing a and b from [x, y] costs less than swapping four values.
			f.rows, f.w = affineRows(o, affineEta), 4
		}
	}
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

// affineRows returns the rows [x, y, 1 - eta x^2, eta x y] of one-input data, computed once
// per objective and learning rate (by the expressions featureBatch uses with epochs).
func affineRows(o *model.Objective, eta float64) []float64 {
	type key struct{ eta float64 }
	return o.Derived(key{eta}, func() any {
		x, y := o.Data.X, o.Data.Y
		rows := make([]float64, 4*len(x))
		for i, xi := range x {
			rows[4*i], rows[4*i+1], rows[4*i+2], rows[4*i+3] = xi, y[i], 1-eta*(xi*xi), eta*(xi*y[i])
		}
		return rows
	}).([]float64)
}

// next returns the row of the next sample.
func (f *featureBatch) next() []float64 {
	w := f.w
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
		// One input and the label: swap without a loop.
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

// affineStep draws the next sample, performs theta -> a theta + b and returns the sample's
// loss at the parameters before the step (f.affine).
func (f *featureBatch) affineStep(theta []float64) float64 {
	row := f.next()
	th, x, y := theta[0], row[0], row[1]
	r := th*x - y
	if f.w == 4 {
		theta[0] = row[2]*th + row[3]
	} else {
		theta[0] = (1-f.eta*(x*x))*th + f.eta*(x*y)
	}
	return 0.5 * (r * r)
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

// Quadratic1 is the loss of one-parameter regression, 1/2 (C theta^2 - 2 Bv theta + S),
// evaluated with the same operations as model.Moments.Loss so that the kernel below and
// the general path agree to the last bit.
type Quadratic1 struct{ C, Bv, S float64 }

// ScalarKernel reports whether StepsToLoss1 applies: the affine rows (plain SGD with batch
// 1 on one-input linear regression), sampling with replacement or epochs over a private
// copy of the rows. Then a whole stretch of steps runs in registers.
func (r *Runner) ScalarKernel() bool {
	f := r.fast
	return f != nil && f.affine && (f.mode == Replacement || f.own)
}

// StepsToLoss1 performs up to max steps of theta[0] and stops after the first at which
// q(theta) > thr or q is NaN; it returns the steps done and whether it stopped so, and adds
// eta to *t after every step (the time, summed in the loop where its latency is hidden). It
// draws the same random numbers and performs the same floating-point operations as Step
// followed by q, step by step, so trajectories are identical (ScalarKernel must hold).
func (r *Runner) StepsToLoss1(theta []float64, max int64, q Quadratic1, thr float64, t *float64) (int64, bool) {
	f := r.fast
	eta, th, tt := r.cfg.Eta, theta[0], *t
	rows := f.rows
	src := seed.LoadPCG(f.src)
	k := int64(1)
	stop := false
	if f.mode == Replacement {
		n := uint64(f.n)
		for ; k <= max; k++ {
			u, s := src.Next()
			i, lo := bits.Mul64(u, n) // seed.Below, written out to inline
			if src = s; lo < n {
				i, src = src.Reject(n, i, lo)
			}
			row := rows[4*i : 4*i+4 : 4*i+4]
			th = row[2]*th + row[3]
			tt += eta
			if !(0.5*(th*(q.C*th)-2*(q.Bv*th)+q.S) <= thr) {
				stop = true
				break
			}
		}
	} else {
		pos, end, n := f.pos, f.end, f.n
		for ; k <= max; k++ {
			if pos == end {
				pos = 0
			}
			m := uint64(n - pos)
			u, s := src.Next()
			j, lo := bits.Mul64(u, m) // seed.Below, written out to inline
			if src = s; lo < m {
				j, src = src.Reject(m, j, lo)
			}
			j = 2 * (uint64(pos) + j)
			p := 2 * pos
			pos++
			x, y := rows[j], rows[j+1]
			rows[j], rows[j+1] = rows[p], rows[p+1]
			rows[p], rows[p+1] = x, y
			a, b := 1-eta*(x*x), eta*(x*y)
			th = a*th + b
			tt += eta
			if !(0.5*(th*(q.C*th)-2*(q.Bv*th)+q.S) <= thr) {
				stop = true
				break
			}
		}
		f.pos = pos
	}
	theta[0], *t = th, tt
	src.Store(f.src)
	if stop {
		return k, true
	}
	return max, false
}
