package experiment

import (
	"fmt"
	"math"

	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/study"
)

// wellEscape holds the ensemble settings of the escapes over a real saddle (X1, X2): each
// run ends on entering the ball of radius WellR |theta_B - theta_s| around the other
// minimum (a committed transition, the event Kramers' rate counts).
type wellEscape struct {
	Runs     int      `json:"runs"`
	Dynamics []string `json:"dynamics"`
	Substeps int      `json:"substeps"`
	WellR    float64  `json:"well_radius"`
	// Budget per run: BudgetFactor times the predicted MFPT (SGD: times SGDFactor more),
	// at most MaxSteps steps.
	BudgetFactor float64  `json:"budget_factor"`
	SGDFactor    float64  `json:"sgd_factor"`
	MaxSteps     int64    `json:"max_steps"`
	Seed         uint64   `json:"seed"`
	diverged     []string // what diverged, for the report's notes
}

func (w *wellEscape) validate() error {
	var c check
	c.that(w.Runs >= 2 && w.Runs <= 1e8, "runs = %d must be between 2 and 10^8", w.Runs)
	c.that(w.WellR > 0 && w.WellR < 1, "well_radius = %v must be in (0, 1)", w.WellR)
	c.that(positive(w.BudgetFactor) && positive(w.SGDFactor), "budget_factor and sgd_factor must be positive")
	c.that(w.MaxSteps >= 1, "max_steps = %d must be positive", w.MaxSteps)
	if c.err != nil {
		return c.err
	}
	return checkDynamics(w.Dynamics, w.Substeps)
}

// rates runs (or resumes) one ensemble per dynamics from the minimum over the barrier br,
// with SGD's eta and B, a budget scaled from mfpt (the predicted mean time, in t), and
// returns the rate of each dynamics; stage labels the progress line.
func (w *wellEscape) rates(env *Env, id, stage string, prob study.Problem, prep *landscape.Prepared,
	br *landscape.Barrier, eta float64, batch int, mfpt float64) (map[string]escape.LevelRate, error) {
	out := map[string]escape.LevelRate{}
	for _, dn := range w.Dynamics {
		dyn, err := dynamics(dn, eta, batch, "epoch", w.Substeps)
		if err != nil {
			return nil, err
		}
		env.stage("%s: %s %s", id, stage, dn)
		budget := w.BudgetFactor * mfpt / eta
		if dyn.Kind == "sgd" {
			budget *= w.SGDFactor
		}
		rec, err := study.Escape(
			env.Ctx,
			env.Study,
			study.EscapeSpec{Problem: prob, Dynamics: dyn, Exit: fmt.Sprintf("well:r=%g", w.WellR),
				Runs: w.Runs, Seed: w.Seed, MaxSteps: int64(math.Min(budget, float64(w.MaxSteps))), Minimum: prep,
				Barrier: br},
		)
		if err != nil {
			return nil, err
		}
		out[dn] = rec.Rates[0]
		if rec.Diverged > 0 {
			w.diverged = append(w.diverged, fmt.Sprintf("%s, %s: %d of %d runs diverged (censored at their "+
				"divergence, not counted as escapes)", stage, dn, rec.Diverged, w.Runs))
		}
	}
	return out, nil
}
