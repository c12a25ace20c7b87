package sde

import (
	"math"

	"github.com/sgdlab/sgdlab/model"
)

// The fused loss-exit loop of the SDE dynamics (LossStepper), with a scalar kernel for the
// decoupled SDE of one-parameter regression integrated by Euler-Maruyama: there the drift,
// the noise amplitude and the loss are a few multiplications, performed in the same order
// as the general path (decoupled.Eval, SqrtFactor.Apply, Integrator.Step, Moments.Loss), so
// that trajectories are identical; only the calls between them go away.

// StepTime is the constant time each step adds.
func (d *sdeDyn) StepTime() float64 { return d.h }

// StepsToLoss performs up to max steps and stops after the first one at which
// L(theta) > thr or L is NaN, adding the step to *t after each step.
func (d *sdeDyn) StepsToLoss(theta []float64, max int64, thr float64, t *float64) (int64, bool) {
	if d.scalar != nil {
		return d.scalar.stepsToLoss(d.in, theta, max, thr, t)
	}
	for k := int64(1); k <= max; k++ {
		d.in.Step(theta)
		*t += d.h
		if !(d.land.LossGrad(theta, nil) <= thr) {
			return k, true
		}
	}
	return max, false
}

// scalarDecoupled holds what the scalar kernel needs: the quadratic loss
// 1/2 (c theta^2 - 2 bv theta + s), the factor f of H* (H* = f^2), 2 eta and B.
type scalarDecoupled struct {
	c, bv, s, f, twoEta, b float64
}

// newScalarDecoupled returns the kernel's data when it applies: the decoupled SDE (not the
// log landscape) with the Ito scheme on a landscape that is a one-parameter quadratic and a
// one-column factor; nil otherwise.
func newScalarDecoupled(s SDE, scheme Scheme, land model.Landscape) *scalarDecoupled {
	dc, ok := s.(*decoupled)
	fl, isFeature := land.(*model.FeatureLandscape)
	if !ok || !isFeature || dc.logScale || scheme != Ito || dc.f.P != 1 || dc.f.R != 1 {
		return nil
	}
	c, bv, sv, ok := fl.Scalar()
	if !ok {
		return nil
	}
	if dl, ok := dc.land.(*model.FeatureLandscape); !ok || dl.Moments() != fl.Moments() {
		return nil
	}
	return &scalarDecoupled{c: c, bv: bv, s: sv, f: dc.f.Data[0], twoEta: 2 * dc.eta,
		b: float64(dc.batch)}
}

func (k *scalarDecoupled) stepsToLoss(in *Integrator, theta []float64, max int64, thr float64,
	t *float64) (int64, bool) {
	th, tt := theta[0], *t
	h, sh := in.H, math.Sqrt(in.H)
	c, bv, s, f, twoEta, bf := k.c, k.bv, k.s, k.f, k.twoEta, k.b
	rng := in.rng
	for n := int64(1); n <= max; n++ {
		xi := rng.NormFloat64()
		ci := c * th
		l := 0.5 * (th*ci - 2*(bv*th) + s)
		a := -(ci - bv)
		m := l // math.Max(l, 0), which is a call on amd64
		if !(l > 0) && l == l {
			m = 0
		}
		b := math.Sqrt(twoEta*m/bf) * (f * xi)
		th += a*h + b*sh
		tt += h
		if !(0.5*(th*(c*th)-2*(bv*th)+s) <= thr) {
			theta[0], *t = th, tt
			return n, true
		}
	}
	theta[0], *t = th, tt
	return max, false
}
