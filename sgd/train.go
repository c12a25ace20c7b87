package sgd

import (
	"context"
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
// measurements) run on their own schedules. On error the curve up to that point is kept.
func Train(ctx context.Context, obj *model.Objective, theta []float64, cfg Config, steps, logEvery int64, rng *rand.Rand, extra ...Observation) (TrainResult, error) {
	r, err := New(obj, cfg, rng)
	if err != nil {
		return TrainResult{}, err
	}
	w := obj.NewWorker(2, 0)
	spe := float64(StepsPerEpoch(obj.N(), cfg.Batch))
	var tr TrainResult
	record := func(k int64, th []float64, _ float64) error {
		tr.Curve = append(tr.Curve, LossPoint{Step: k, Epoch: float64(k) / spe, Time: float64(k) * cfg.Eta, Loss: w.Loss(th)})
		return nil
	}
	record(0, theta, 0)
	r.SetLimit(tr.Curve[0].Loss)
	obs := append([]Observation{{Every: logEvery, Fn: record}}, extra...)
	res, err := r.Run(ctx, theta, steps, obs...)
	tr.Result = res
	if err == nil && (logEvery <= 0 || res.Steps%logEvery != 0) {
		record(res.Steps, theta, 0)
	}
	return tr, err
}
