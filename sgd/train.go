package sgd

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"github.com/sgdlab/sgdlab/model"
)

// LossPoint is one entry of a loss curve: the full-data loss after Step updates.
type LossPoint struct {
	Step  int64   `json:"step"`
	Epoch float64 `json:"epoch"` // Step / floor(N/B)
	Time  float64 `json:"t"`     // eta * Step
	Loss  float64 `json:"loss"`
}

// TrainResult is the outcome of Train.
type TrainResult struct {
	Result
	Curve []LossPoint
}

// Train runs steps SGD updates of theta in place, recording the full-data loss L(theta) at
// the start, every logEvery steps and at the end. Extra observations (e.g. noise
// measurements) run on their own schedules. On error the curve up to that point is kept, and
// when the run stopped early with finite parameters (interrupted, or an observer's error)
// its last point is the loss at the theta it stopped at, so that the final loss always
// belongs to the parameters the caller saves.
func Train(ctx context.Context, obj *model.Objective, theta []float64, cfg Config, steps, logEvery int64,
	rng *rand.Rand, extra ...Observation) (TrainResult, error) {
	r, err := New(obj, cfg, rng)
	if err != nil {
		return TrainResult{}, err
	}
	w := obj.NewWorker(2, 0).Uninterruptible()
	spe := float64(StepsPerEpoch(obj.N(), cfg.Batch))
	var tr TrainResult
	record := func(k int64, th []float64, _ float64) error {
		tr.Curve = append(tr.Curve, LossPoint{Step: k, Epoch: float64(k) / spe, Time: float64(k) * cfg.Eta,
			Loss: w.Loss(th)})
		return nil
	}
	record(0, theta, 0)
	r.SetLimit(tr.Curve[0].Loss)
	obs := append([]Observation{{Every: logEvery, Fn: record}}, extra...)
	res, err := r.Run(ctx, theta, steps, obs...)
	tr.Result = res
	var de *DivergenceError
	if last := tr.Curve[len(tr.Curve)-1]; last.Step != res.Steps && !errors.As(err, &de) {
		record(res.Steps, theta, 0)
	}
	// The run checks each mini-batch loss before its step: the last step can still overshoot
	// to parameters whose full loss is beyond the limit or no longer finite.
	if last := tr.Curve[len(tr.Curve)-1]; err == nil && !(last.Loss <= r.limit) {
		err = &DivergenceError{Step: last.Step, Loss: last.Loss, Eta: cfg.Eta, Batch: cfg.Batch, Full: true}
	}
	if errors.As(err, &de) {
		// The curve holds losses: points logged on the way to the divergence that are no longer
		// finite are dropped (the error says where the run ended).
		for n := len(tr.Curve); n > 1 && (math.IsNaN(tr.Curve[n-1].Loss) || math.IsInf(tr.Curve[n-1].Loss, 0)); n-- {
			tr.Curve = tr.Curve[:n-1]
		}
	}
	return tr, err
}
