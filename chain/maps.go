package chain

import (
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/seed"
)

// maps evaluates the M maps theta -> theta - eta g_m(theta) of one SGD step, where g_m is
// the gradient of the mini-batch loss of batch m: with B = 1 the N per-sample maps (the
// exact transition of SGD with replacement), with B > 1 M batches of B indices drawn with
// replacement (a Monte Carlo transition). A maps value holds scratch space: one per
// goroutine.
type maps struct {
	p       int
	eta     float64
	n       int       // samples
	batches [][]int32 // per map its sample indices (nil when B = 1: map m is sample m)
	// Models linear in their features (linear regression, the double well) take the closed
	// form grad l = phi'(theta) o (r xt), r = phi(theta) . xt - y, from packed rows.
	fl         model.FeatureLinear
	rows       []float64 // N x (D + 1): inputs, target
	dIn        int
	aug        bool
	phi, dphi  []float64
	d2phi, acc []float64
	// Other models go through the evaluator: all N per-sample gradients at once.
	w     *model.Worker
	grads []float64 // N x P
}

// newMaps builds the maps of SGD on o with step eta and batch size b; batches (b > 1) are
// drawn from seed stream s.
func newMaps(o *model.Objective, eta float64, b, batches int, s uint64) *maps {
	mp := &maps{p: o.P(), eta: eta, n: o.N()}
	if b > 1 {
		rng := seed.Stream(s, seed.Batches)
		mp.batches = make([][]int32, batches)
		for m := range mp.batches {
			mp.batches[m] = make([]int32, b)
			for i := range mp.batches[m] {
				mp.batches[m][i] = int32(rng.IntN(o.N()))
			}
		}
	}
	if fl, ok := model.AsFeatureLinear(o.Model); ok && isMSE(o) {
		mp.fl, mp.rows, mp.dIn, mp.aug = fl, o.PackedRows(), o.Data.D, fl.Augmented()
		d := fl.Features()
		mp.phi, mp.dphi, mp.d2phi, mp.acc = make([]float64, d), make([]float64, d), make([]float64, d),
			make([]float64, d)
		return mp
	}
	mp.w = o.NewWorker(1, 0)
	mp.grads = make([]float64, o.N()*o.P())
	return mp
}

func isMSE(o *model.Objective) bool {
	_, ok := o.Loss.(model.MSE)
	return ok
}

// clone returns maps with their own scratch space over the same batches and data.
func (mp *maps) clone() *maps {
	c := *mp
	if mp.fl != nil {
		d := len(mp.phi)
		c.phi, c.dphi, c.d2phi, c.acc = make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
	} else {
		c.w = mp.w.Objective().NewWorker(1, 0)
		c.grads = make([]float64, len(mp.grads))
	}
	return &c
}

// count is the number of maps M.
func (mp *maps) count() int {
	if mp.batches != nil {
		return len(mp.batches)
	}
	return mp.n
}

// eval writes the M destinations of theta into dst (M x P, row-major).
func (mp *maps) eval(theta, dst []float64) {
	P := mp.p
	if mp.fl == nil {
		mp.w.PerSampleGrads(theta, nil, mp.grads)
	} else {
		mp.fl.Phi(theta, mp.phi, mp.dphi, mp.d2phi)
	}
	if mp.batches == nil {
		for mu := 0; mu < mp.n; mu++ {
			g := mp.grad(mu)
			for j := 0; j < P; j++ {
				dst[mu*P+j] = theta[j] - mp.eta*g[j]
			}
		}
		return
	}
	for m, batch := range mp.batches {
		row := dst[m*P : (m+1)*P]
		copy(row, theta)
		s := mp.eta / float64(len(batch))
		for _, mu := range batch {
			g := mp.grad(int(mu))
			for j := 0; j < P; j++ {
				row[j] -= s * g[j]
			}
		}
	}
}

// grad returns the gradient of sample mu's loss at the point of the last eval (valid until
// the next call).
func (mp *maps) grad(mu int) []float64 {
	if mp.fl == nil {
		return mp.grads[mu*mp.p : (mu+1)*mp.p]
	}
	w := mp.dIn + 1
	row := mp.rows[mu*w : (mu+1)*w]
	r := -row[mp.dIn]
	for j, v := range row[:mp.dIn] {
		r += mp.phi[j] * v
	}
	if mp.aug {
		r += mp.phi[mp.dIn]
		mp.acc[mp.dIn] = r * mp.dphi[mp.dIn]
	}
	for j, v := range row[:mp.dIn] {
		mp.acc[j] = r * v * mp.dphi[j]
	}
	return mp.acc
}
