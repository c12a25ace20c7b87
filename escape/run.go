package escape

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/stats"
)

// Run is the record of one trajectory: for every level the first-passage time (or, if
// not escaped, the time observed), in t and in steps. A run whose parameters or loss stop
// being finite is Diverged: the levels it had not crossed are censored at the time of the
// divergence (it left for infinity, not over the exit), so that rates estimate the hazard of
// the exit itself and divergences are counted apart.
type Run struct {
	Index    int       `json:"index"`
	Times    []float64 `json:"t"`
	Steps    []int64   `json:"steps"`
	Escaped  []bool    `json:"escaped"`
	Diverged bool      `json:"diverged,omitempty"`
}

// Options configures the runs of an ensemble.
type Options struct {
	Seed     uint64  // master seed: run i uses seed.Stream(Seed, i)
	MaxTime  float64 // budget per run in t; runs that do not escape are censored here
	MaxSteps int64   // alternative budget in steps (whichever comes first; 0: none)
}

// Trajectory runs trajectory i from start until it has crossed every level of the exit,
// diverged, or spent its budget (ensemble.Run calls it for each index). A run whose
// parameters or loss stop being finite ends Diverged, never as an escape; a cancelled run
// returns ctx.Err().
func Trajectory(ctx context.Context, fac *sde.Factory, exit ExitSpec, ec Context, start []float64, i int,
	opt Options) (Run, error) {
	if opt.MaxTime <= 0 && opt.MaxSteps <= 0 {
		return Run{}, fault.Invalid("an escape run needs a budget (max time or max steps)")
	}
	return one(ctx, fac, exit, ec, start, i, opt)
}

// one runs trajectory i to escape of every level or to the budget.
func one(ctx context.Context, fac *sde.Factory, spec ExitSpec, ec Context, start []float64, i int, opt Options) (Run,
	error) {
	dyn, err := fac.New(seed.Stream(opt.Seed, uint64(i)))
	if err != nil {
		return Run{}, err
	}
	ex, err := spec.New(ec)
	if err != nil {
		return Run{}, err
	}
	levels := len(ex.Levels())
	r := Run{Index: i, Times: make([]float64, levels), Steps: make([]int64, levels), Escaped: make([]bool, levels)}
	theta := append([]float64(nil), start...)
	loss := func() float64 { return dyn.Loss(theta) }
	every := ex.Every()
	t := 0.0
	crossed := 0
	maxSteps := opt.MaxSteps
	if maxSteps <= 0 {
		maxSteps = math.MaxInt64
	}
	maxTime := opt.MaxTime
	if maxTime <= 0 {
		maxTime = math.Inf(1)
	}
	// A loss exit checked every step lets dynamics that can (sde.LossStepper) run stretches
	// of steps with the check fused into their loop: the same steps, times, checks and
	// records as one step at a time, without two interface calls and a closure per step.
	var ls sde.LossStepper
	var le *lossExit
	if fuseLossExits {
		le, _ = ex.(*lossExit)
		ls, _ = dyn.(sde.LossStepper)
		if le == nil || le.every != 1 {
			ls = nil
		}
	}
	var k int64 // steps done
	for k < maxSteps && t < maxTime {
		var check bool
		if ls != nil {
			// Up to the next multiple of 1024 steps (where finiteness is checked), within
			// both budgets; the time is accumulated step by step as Step would.
			n := min(1024-k%1024, maxSteps-k)
			if !math.IsInf(maxTime, 1) {
				h, tt := ls.StepTime(), t
				n = 0
				for limit := min(1024-k%1024, maxSteps-k); n < limit && tt < maxTime; n++ {
					tt += h
				}
			}
			var done int64
			done, check = ls.StepsToLoss(theta, n, le.thr[crossed], &t)
			k += done
		} else {
			t += dyn.Step(theta)
			k++
			check = k%every == 0
		}
		if check || k%1024 == 0 {
			if !finite(theta) {
				return diverge(r, crossed, k, t), nil
			}
		}
		if check {
			c := ex.Crossed(theta, loss)
			if c < 0 {
				return diverge(r, crossed, k, t), nil
			}
			if c > crossed {
				for j := crossed; j < c; j++ {
					r.Times[j], r.Steps[j], r.Escaped[j] = t, k, true
				}
				crossed = c
				if crossed == levels {
					return r, nil
				}
			}
		}
		if k%(1<<16) == 0 && ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	if !finite(theta) {
		return diverge(r, crossed, k, t), nil
	}
	for j := crossed; j < levels; j++ {
		r.Times[j], r.Steps[j] = t, k
	}
	return r, nil
}

// diverge ends run r at step k (time t): the levels after the first crossed ones are
// censored there.
func diverge(r Run, crossed int, k int64, t float64) Run {
	for j := crossed; j < len(r.Times); j++ {
		r.Times[j], r.Steps[j] = t, k
	}
	r.Diverged = true
	return r
}

// fuseLossExits lets loss exits checked every step run through sde.LossStepper (tests
// switch it off to compare with the step-by-step loop).
var fuseLossExits = true

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// LevelRate is the rate estimate at one level.
type LevelRate struct {
	Level float64 `json:"level"`
	stats.Rate
	MFPTSteps num.Float `json:"mfpt_steps"`
	// Diverged counts runs that diverged before crossing this level (censored at their
	// divergence: the estimate is the hazard of the exit, competing with divergence).
	Diverged int    `json:"diverged,omitempty"`
	Warning  string `json:"warning,omitempty"`
}

// MinEscapes is the number of escapes below which a rate estimate carries a warning.
const MinEscapes = 10

// Rates estimates, per level, the censored-exponential rate and the mean first-passage time.
func Rates(runs []Run, levels []float64, eta float64) []LevelRate {
	out := make([]LevelRate, len(levels))
	for j, lv := range levels {
		times := make([]float64, len(runs))
		esc := make([]bool, len(runs))
		div := 0
		for i, r := range runs {
			times[i], esc[i] = r.Times[j], r.Escaped[j]
			if r.Diverged && !r.Escaped[j] {
				div++
			}
		}
		lr := LevelRate{Level: lv, Rate: stats.EstimateRate(times, esc), Diverged: div}
		lr.MFPTSteps = lr.MFPT / num.Float(eta)
		switch {
		case lr.Escaped == 0:
			lr.Warning = "no run escaped within its budget: the rate is only bounded above"
		case lr.Escaped < MinEscapes:
			lr.Warning = fmt.Sprintf("only %d escapes: the estimate is rough", lr.Escaped)
		}
		if div > 0 {
			lr.Warning = strings.TrimPrefix(lr.Warning+fmt.Sprintf("; %d runs diverged before this level (censored "+
				"at their divergence, not counted as escapes)", div), "; ")
		}
		out[j] = lr
	}
	return out
}
