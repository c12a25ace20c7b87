package experiment

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/num"
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
	BudgetFactor float64 `json:"budget_factor"`
	SGDFactor    float64 `json:"sgd_factor"`
	MaxSteps     int64   `json:"max_steps"`
	Seed         uint64  `json:"seed"`
	// Exact solves the exact chain of SGD with replacement (models with at most two
	// parameters) on grids of ChainGrid1 (one parameter) or ChainGrid2 (two) intervals.
	Exact      bool `json:"exact_chain"`
	ChainGrid1 int  `json:"chain_grid_1d"`
	ChainGrid2 int  `json:"chain_grid_2d"`
	// ChainMargin is the chain's box margin (0: automatic, widened while runs leave it).
	ChainMargin float64  `json:"chain_margin,omitempty"`
	diverged    []string // what diverged, for the report's notes
}

func (w *wellEscape) validate() error {
	var c check
	c.that(w.Runs >= 2 && w.Runs <= 1e8, "runs = %d must be between 2 and 10^8", w.Runs)
	c.that(w.WellR > 0 && w.WellR < 1, "well_radius = %v must be in (0, 1)", w.WellR)
	c.that(positive(w.BudgetFactor) && positive(w.SGDFactor), "budget_factor and sgd_factor must be positive")
	c.that(w.MaxSteps >= 1, "max_steps = %d must be positive", w.MaxSteps)
	if w.Exact {
		c.that(w.ChainGrid1 >= 8 && w.ChainGrid1 <= 1<<16, "chain_grid_1d = %d must be between 8 and 65536",
			w.ChainGrid1)
		c.that(w.ChainGrid2 >= 8 && w.ChainGrid2 <= 1000, "chain_grid_2d = %d must be between 8 and 1000",
			w.ChainGrid2)
	}
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
				Runs: w.Runs, Seed: w.Seed, MaxSteps: stepBudget(budget, w.MaxSteps), Minimum: prep,
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

// chain solves the exact chain of SGD with replacement for the same exit (nil when the
// experiment does not ask for it or the model has more than two parameters). A chain the
// solver refuses (a grid that cannot resolve SGD's steps, an escape too rare for double
// precision) is not solved either: why says so, and the experiment's other measurements stand.
func (w *wellEscape) chain(env *Env, id, stage string, prob study.Problem, p int, prep *landscape.Prepared,
	br *landscape.Barrier, eta float64, batch int) (res *chain.Result, why string, err error) {
	if !w.Exact || p > chain.MaxParams {
		return nil, "", nil
	}
	grid := w.ChainGrid1
	if p == 2 {
		grid = w.ChainGrid2
	}
	env.stage("%s: %s exact chain", id, stage)
	rec, err := study.Chain(env.Ctx, env.Study, study.ChainSpec{Problem: prob, Eta: eta, Batch: batch,
		Exit: fmt.Sprintf("well:r=%g", w.WellR), Grid: grid, Seed: w.Seed, Minimum: prep, Barrier: br,
		Margin: w.ChainMargin})
	if err != nil {
		return nil, why, chainRefused(&why, fmt.Errorf("%s %s exact chain: %w", id, stage, err))
	}
	return rec.Levels[0], "", nil
}

// chainRefused records in why an error of the exact chain's solver that refuses the problem
// (class fault.ErrInvalid: a grid that cannot resolve SGD's steps, an escape too rare for
// double precision) and returns nil, so that the experiment's other measurements stand;
// any other error (an interruption) is returned.
func chainRefused(why *string, err error) error {
	if errors.Is(err, fault.ErrInvalid) {
		*why = err.Error()
		return nil
	}
	return err
}

// chainMissing is the exact check of a chain that was not solved because the solver refused
// it (why), or nothing when the experiment did not ask for one.
func chainMissing(v *Verdict, where, why string) {
	if why != "" {
		v.add(missing(Exact, critChainRate, "exact chain's rate at "+where, "the exact chain was not solved: %s",
			why))
	}
}

// chainRateCheck checks the exact chain's rate 1/MFPT against SGD with replacement's
// measured rate: pass when it lies inside the rate's 95% interval, uninformative with fewer
// than minEscapes escapes (a wide interval would pass by its width alone).
//
// A chain result that is only a bound (more than chain.GridTolerance of the probability
// leaves its box first: the time is then that to the first of leaving the box and the exit)
// or whose grid has not converged (the half grid changes it by more than
// chain.GridTolerance) is not a prediction to that accuracy: its check is uninformative.
func chainRateCheck(where string, lr escape.LevelRate, c *chain.Result) Check {
	k := 1 / float64(c.MFPT)
	in := lr.Lo <= k && k <= lr.Hi
	word := map[bool]string{true: "inside", false: "outside"}[in]
	chk := newCheck(Exact, critChainRate, "exact chain's rate at "+where, k, "At %s the exact chain's rate 1/MFPT "+
		"%.3g is %s the 95%% interval %.3g .. %.3g of SGD with replacement (%d of %d runs escaped).", where, k, word,
		lr.Lo, lr.Hi, lr.Escaped, lr.Runs)
	chk.Target = num.Float(lr.Kappa)
	chk = chk.byInterval(in, lr.Escaped, minEscapes)
	var bound []string
	if c.LeaveBox > chain.GridTolerance {
		bound = append(bound, fmt.Sprintf("%.2g of the probability leaves the grid's box first, so the chain's time "+
			"is that to the first of leaving the box and the exit: a lower bound of the escape time", c.LeaveBox))
	}
	if g := float64(c.GridChange); g > chain.GridTolerance {
		bound = append(bound, fmt.Sprintf("the half grid changes the chain's time by %.2g%% (tolerance %g%%): not "+
			"converged", 100*g, 100*chain.GridTolerance))
	}
	if len(bound) > 0 {
		chk.Outcome = Uninformative
		chk.Claim += " Not informative: " + strings.Join(bound, "; ") + "."
	}
	return chk
}
