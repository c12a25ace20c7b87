package landscape

import (
	"context"
	"errors"
	"fmt"

	"github.com/sgdlab/sgdlab/curvature"

	"github.com/sgdlab/sgdlab/model"

	"github.com/sgdlab/sgdlab/seed"
)

// Prepared is a minimum with what the dynamics and the theory need: L*, the Hessian
// spectrum, the H* noise factor, the number n of directions and the typical eigenvalue h*.
type Prepared struct {
	Min    *Minimum
	Factor *curvature.SqrtFactor // F F^T = H*: the noise direction of the SDE models
	N      int                   // directions used by the fits and the theory
	HStar  float64               // typical outlier eigenvalue
	Note   string
}

// ErrNotMinimum marks a start point that is not a minimum.
var ErrNotMinimum = errors.New("not a minimum")

// Prepare finds the minimum (descending from the model's initialisation with seedVal when
// start is nil) and characterises it.
func Prepare(ctx context.Context, o *model.Objective, start []float64, seedVal uint64) (*Prepared, error) {
	w := o.NewWorker(2, 0)
	if start == nil {
		init := make([]float64, o.P())
		o.Model.Init(init, seed.Stream(seedVal, seed.Init))
		p, err := Minimize(ctx, w, init, MinimizeOptions{})
		if err != nil {
			return nil, fmt.Errorf("finding the minimum: %w", err)
		}
		start = p.Theta
	}
	m, err := Characterize(w, start, 20)
	if err != nil {
		if !errors.Is(err, ErrNotMinimum) {
			err = fmt.Errorf("%w: %w", ErrNotMinimum, err)
		}
		return nil, err
	}
	p := &Prepared{Min: m, N: m.Outliers.N, HStar: m.Outliers.HStar}
	if m.Dense {
		p.N = len(m.Eigs)
	}
	if p.N == 0 {
		return nil, errors.New(
			"no outlier eigenvalues at the minimum: h* and n are undefined (the Hessian spectrum has no gap)",
		)
	}
	p.Factor = curvature.FactorFrom(m.Eigs, m.Vecs, m.Dense, m.Outliers.N)
	if m.Dense && m.Outliers.N != len(m.Eigs) {
		p.Note = fmt.Sprintf("H* has %d outliers among %d eigenvalues; the SDE noise uses the full H*, h* is the "+
			"outliers' mean", m.Outliers.N, len(m.Eigs))
	}
	return p, nil
}
