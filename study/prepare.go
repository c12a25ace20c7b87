package study

import (
	"context"
	"fmt"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
)

// Minimum finds the minimum the dynamics start from (descending from the model's
// initialisation with seed when start is nil) and characterises it: L*, the Hessian
// spectrum, h* and n. A start that is not a minimum, or a descent that reaches none, is
// invalid input with the reason.
func Minimum(
	ctx context.Context,
	env Env,
	o *model.Objective,
	start []float64,
	seed uint64,
) (*landscape.Prepared, error) {
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
