package noise

import (
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sgd"
)

// TrackPoint is the noise strength at one moment of training (the paper's Fig. 2 quantity).
type TrackPoint struct {
	Step  int64   `json:"step"`
	Epoch float64 `json:"epoch"`
	Strength
}

// Track records Noise(theta) and L(theta) along an SGD run; its Observe method is an
// sgd.Observer.
type Track struct {
	w       *model.Worker
	mode    sgd.Sampling
	b       int
	withJac bool
	spe     float64
	Points  []TrackPoint
}

// NewTrack measures on obj for SGD with batch b and the given sampling; withJac adds the
// decoupled prediction 2 L (1/N) sum |grad f|^2 (one backward pass per output more).
func NewTrack(obj *model.Objective, mode sgd.Sampling, b int, withJac bool) *Track {
	return &Track{w: obj.NewWorker(2, 0), mode: mode, b: b, withJac: withJac, spe: float64(sgd.StepsPerEpoch(obj.N(),
		b))}
}

// Observe measures at theta. Once the objective's context is cancelled it measures nothing
// and returns the context's error, which stops the run.
func (t *Track) Observe(step int64, theta []float64, _ float64) error {
	ctx := t.w.Objective().Ctx
	if ctx != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	s := NewState(t.w, theta, t.mode, t.b)
	st := s.MeasureStrength(t.withJac)
	if ctx != nil && ctx.Err() != nil {
		return ctx.Err() // interrupted during the measurement: its passes did no work
	}
	t.Points = append(t.Points, TrackPoint{Step: step, Epoch: float64(step) / t.spe, Strength: st})
	return nil
}

// Finite returns the points up to the first whose loss, noise or Jacobian norm is not a
// finite number: a diverging run's last measurements are overflow, not strengths.
func (t *Track) Finite() []TrackPoint {
	for i, p := range t.Points {
		if !num.AllFinite([]float64{p.Loss, p.Noise, p.JacNorm}) {
			return t.Points[:i]
		}
	}
	return t.Points
}
