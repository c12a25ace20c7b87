package study

import (
	"context"
	"errors"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/theory"
)

// BarrierSpec asks for two minima and the index-1 saddle between them.
type BarrierSpec struct {
	Problem
	From []float64 // first minimum (nil: descend from the model's initialisation)
	To   []float64 // second minimum (nil: descend from -From and from further initialisations)
	Seed uint64    // seed of the initialisations
}

// BarrierRecord is what Barrier finds.
type BarrierRecord struct {
	Model   string             `json:"model"`
	Data    string             `json:"data"`
	Barrier *landscape.Barrier `json:"barrier"`
	Theory  theory.Barrier     `json:"theory_inputs"`
	// TheoryNote says why a theory input is not defined (NaN), or is empty.
	TheoryNote string   `json:"theory_note,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// Barrier finds the minima and the saddle (nudged elastic band with a climbing image, then
// refinement).
func Barrier(ctx context.Context, env Env, spec BarrierSpec) (*BarrierRecord, error) {
	o, err := spec.Problem.Build(ctx, env)
	if err != nil {
		return nil, err
	}
	w := o.NewWorker(2, 0)
	a := spec.From
	if a == nil {
		env.stage("finding the first minimum")
		p, err := landscape.Minimize(ctx, w, initial(o, spec.Seed), landscape.MinimizeOptions{})
		if err != nil {
			return nil, notCancelled(err, "finding the first minimum: %w")
		}
		a = p.Theta
	} else if err := checkPoint(o, a, "the first minimum"); err != nil {
		return nil, fault.Field("from", err)
	}
	br, notes, err := barrierFrom(ctx, env, o, w, a, spec.To, spec.Seed)
	if spec.From != nil && errors.Is(err, landscape.ErrFirstNotMinimum) {
		return nil, fault.Field("from", err)
	}
	if err != nil {
		return nil, err
	}
	return &BarrierRecord{Model: o.Model.Spec(), Data: o.Data.Spec, Barrier: br, Theory: br.Theory(),
		TheoryNote: br.Degenerate(), Notes: notes}, nil
}

// barrierFrom finds the barrier from the known minimum a to to (or to a second minimum
// searched from -a and eight initialisations).
func barrierFrom(ctx context.Context, env Env, o *model.Objective, w *model.Worker, a, to []float64,
	seedVal uint64) (*landscape.Barrier, []string, error) {
	var notes []string
	b := to
	if b == nil {
		env.stage("finding a second minimum")
		starts := [][]float64{negate(a)}
		for i := uint64(1); i <= 8; i++ {
			starts = append(starts, initial(o, seedVal+i))
		}
		p, tried, err := landscape.OtherMinimum(ctx, w, a, starts)
		if err != nil {
			return nil, tried, notCancelled(err, "%w")
		}
		notes, b = tried, p.Theta
	} else if err := checkPoint(o, b, "the second minimum"); err != nil {
		return nil, nil, fault.Field("to", err)
	}
	env.stage("finding the saddle")
	br, err := landscape.FindBarrier(ctx, w, a, b)
	if err != nil {
		err = notCancelled(err, "%w")
		if to != nil && errors.Is(err, landscape.ErrSecondNotMinimum) {
			err = fault.Field("to", err)
		}
		return nil, notes, err
	}
	return br, notes, nil
}

// initial is the model's initialisation from seed s.
func initial(o *model.Objective, s uint64) []float64 {
	th := make([]float64, o.P())
	o.Model.Init(th, seed.Stream(s, seed.Init))
	return th
}

func checkPoint(o *model.Objective, th []float64, what string) error {
	if err := o.CheckTheta(th); err != nil {
		return fault.Invalid("%s: %v", what, err)
	}
	if !num.AllFinite(th) {
		return fault.Invalid("%s has non-finite values", what)
	}
	// A point where the loss or its gradient overflows has no landscape to measure.
	g := make([]float64, o.P())
	if l := o.NewWorker(2, 0).LossGrad(th, g); !num.AllFinite([]float64{l}) || !num.AllFinite(g) {
		return fault.Invalid("%s: beyond floating-point range (the loss or its gradient there is not a finite "+
			"number, L = %g); choose parameters of a smaller size", what, l)
	}
	return nil
}

// notCancelled classifies err as invalid input (a search that failed on this model and
// data) unless the work was interrupted.
func notCancelled(err error, format string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fault.Invalid(format, err)
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}
