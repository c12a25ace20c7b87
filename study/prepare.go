package study

import (
	"context"
	"fmt"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
)

// Minimum finds the minimum the dynamics start from (descending from the model's
// initialisation with seed when start is nil) and characterises it: L*, the Hessian
// spectrum, h* and n. A start that is not a minimum, or a descent that reaches none, is
// invalid input with the reason.
func Minimum(ctx context.Context, env Env, o *model.Objective, start []float64, seed uint64) (*landscape.Prepared,
	error) {
	if start != nil {
		if err := checkPoint(o, start, "the start point"); err != nil {
			return nil, fault.Field("start", err)
		}
	}
	env.stage("finding the minimum")
	p, err := landscape.Prepare(ctx, o, start, seed)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		what := "the start point"
		if start == nil {
			what = "the automatic search for a minimum (from the model's initialisation)"
		}
		err = fault.Invalid("%s: %v", what, err)
		if start != nil {
			err = fault.Field("start", err)
		}
		return nil, err
	}
	return p, err
}

// Prepare builds the problem and finds its minimum (from start, or from the model's
// initialisation with seed when start is nil): what every experiment about a minimum needs.
func Prepare(ctx context.Context, env Env, prob Problem, start []float64, seed uint64) (*model.Objective,
	*landscape.Prepared, error) {
	o, err := prob.Build(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	p, err := Minimum(ctx, env, o, start, seed)
	return o, p, err
}

// dynamicsAt checks d, finds the minimum (unless p is given) and builds the dynamics there.
func dynamicsAt(ctx context.Context, env Env, o *model.Objective, d Dynamics, p *landscape.Prepared, start []float64,
	seed uint64) (*landscape.Prepared, *sde.Factory, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		if p, err = Minimum(ctx, env, o, start, seed); err != nil {
			return nil, nil, err
		}
	}
	if err := checkNoisy(cfg, p.Min.Loss, o.N()); err != nil {
		return nil, nil, err
	}
	fac, err := Factory(o, p, d)
	return p, fac, err
}

// checkNoisy refuses dynamics that have no noise at the minimum, where a run that starts
// there stands still (no escape, no stationary law but the point itself): SGD and the exact
// SDE with B = N without replacement (every batch is the data set), and every dynamics
// whose noise is the loss's own at a minimum with L* = 0 (the model fits every sample).
func checkNoisy(cfg sde.Config, lstar float64, n int) error {
	kind := cfg.Kind
	if (kind == sde.SGD || kind == sde.ExactSDE) && cfg.Sampling == sgd.Epoch && cfg.Batch == n {
		return fault.Invalid("B = N = %d without replacement: every batch is the whole data set, so %s dynamics "+
			"has no noise and stands still at the minimum; choose a smaller --batch or --sampling replacement", n, kind)
	}
	if lstar == 0 && kind.NoiseFromLoss() {
		return fault.Invalid("L* = 0 at the minimum (the model fits every sample): the noise of %s dynamics "+
			"vanishes there, so runs started at the minimum never leave it; use data with label noise, or a "+
			"dynamics with noise of its own (langevin with a temperature)", kind)
	}
	return nil
}

// Factory builds the dynamics d around the minimum p.
func Factory(o *model.Objective, p *landscape.Prepared, d Dynamics) (*sde.Factory, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	cfg.HStar, cfg.LStar, cfg.HScalar = p.Factor, p.Min.Loss, p.HStar
	fac, err := sde.NewFactory(o, cfg)
	if err != nil {
		return nil, fault.AsInvalid(fmt.Errorf("dynamics %s: %w", d.Kind, err))
	}
	return fac, nil
}
