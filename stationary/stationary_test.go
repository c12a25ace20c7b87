package stationary

import (
	"context"
	"math"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
)

// sample runs chains chains on two workers and fits them.
func sample(fac *sde.Factory, th []float64, chains int, opt Options) (*Result, error) {
	cs, _, err := ensemble.Run(context.Background(), ensemble.Env{Workers: 2}, ensemble.Spec{Size: int64(chains)},
		func(i int) (Chain, error) { return Sample(context.Background(), fac, th, i, opt) })
	if err != nil {
		return nil, err
	}
	return Fit(cs, opt.A, opt.LStar)
}

// oneD returns 1-D Gaussian regression with its minimum theta*, L* and h* = L”.
func oneD(t *testing.T) (*model.Objective, []float64, float64, float64) {
	o, err := model.Build("linear", "mse", data.Gauss(10000, 1, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	fl, _ := model.NewFeatureLandscape(o, false)
	m := fl.Moments()
	th := []float64{m.Bv[0] / m.C[0]}
	return o, th, fl.LossGrad(th, nil), m.C[0]
}

// The Ito test of docs/theory.md ("Stationary law"): on a 1-D model where the decoupled SDE's stationary law is
// exactly L^-phi, the fitted exponent matches 1 + B/(eta h*) for the Ito integrator and
// 1/2 + B/(eta h*) for the Stratonovich one, within the 95% interval widened to 3 standard
// errors (six fits). The SDE step is eta/100 so that Euler-Maruyama's O(step) bias is well below the
// statistical error.
func TestItoVersusStratonovich(t *testing.T) {
	o, th, lstar, h := oneD(t)
	for _, c := range []struct {
		eta    float64
		b      int
		scheme sde.Scheme
	}{{0.5, 1, sde.Ito}, {0.25, 1, sde.Ito}, {0.5, 2, sde.Ito}, {0.5, 1, sde.Stratonovich}, {0.25, 1,
		sde.Stratonovich}} {
		fac, err := sde.NewFactory(
			o,
			sde.Config{Kind: sde.Decoupled, Eta: c.eta, Batch: c.b, Sampling: sgd.Replacement, Scheme: c.scheme,
				Substeps: 100, HStar: curvature.DenseFactor(1, []float64{h}), LStar: lstar, HScalar: h},
		)
		if err != nil {
			t.Fatal(err)
		}
		r, err := sample(fac, th, 4, Options{Samples: 5000, Every: 10 / h, Burn: 20 / h, Seed: 11, LStar: lstar,
			A: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		want := 1 + float64(c.b)/(c.eta*h)
		if c.scheme == sde.Stratonovich {
			want -= 0.5
		}
		z := (r.Power.Param - want) / r.Power.SE
		t.Logf("%v eta=%v B=%d: phi = %.3f +- %.3f, theory %.3f (z = %.2f), tau %.2f, %s", c.scheme, c.eta, c.b,
			r.Power.Param, r.Power.SE, want, z, r.Tau, r.Summary)
		if math.Abs(z) > 3 {
			t.Errorf("%v eta=%v B=%d: phi = %.3f +- %.3f, theory %.3f", c.scheme, c.eta, c.b, r.Power.Param,
				r.Power.SE, want)
		}
		if r.VuongZ < 2 {
			t.Errorf("the Gibbs law was not rejected: Vuong z = %.2f", r.VuongZ)
		}
	}
}

// The log-landscape dynamics in tau time, converted to t, has the same stationary exponent.
func TestLogLandscape(t *testing.T) {
	o, th, lstar, h := oneD(t)
	fac, err := sde.NewFactory(o, sde.Config{Kind: sde.LogLandscape, Eta: 0.5, Batch: 1, Substeps: 100,
		HStar: curvature.DenseFactor(1, []float64{h}), LStar: lstar, HScalar: h})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sample(fac, th, 4, Options{Samples: 5000, Every: 10 / h, Burn: 20 / h, Seed: 5, LStar: lstar, A: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	want := 1 + 1/(0.5*h)
	if z := (r.Power.Param - want) / r.Power.SE; math.Abs(z) > 3 {
		t.Fatalf("log landscape: phi = %.3f +- %.3f, theory %.3f", r.Power.Param, r.Power.SE, want)
	}
	// With L* = 0 the dynamics must refuse to run without eps.
	if _, err := sde.NewFactory(o, sde.Config{Kind: sde.LogLandscape, Eta: 0.5, Batch: 1,
		HStar: curvature.DenseFactor(1, []float64{h}), LStar: 0}); err == nil {
		t.Fatal("L* = 0 accepted without eps")
	}
}
