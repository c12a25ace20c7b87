package escape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/theory"
)

// simulate runs an ensemble of runs trajectories on workers goroutines.
func simulate(t *testing.T, fac *sde.Factory, spec ExitSpec, ec Context, th []float64, runs, workers int,
	opt Options) ([]Run, error) {
	t.Helper()
	out, _, err := ensemble.Run(context.Background(), ensemble.Env{Workers: workers}, ensemble.Spec{Size: int64(runs)},
		func(i int) (Run, error) { return Trajectory(context.Background(), fac, spec, ec, th, i, opt) })
	return out, err
}

func setup1D(t *testing.T, kind sde.Kind, substeps int) (*sde.Factory, Context, []float64, float64, float64) {
	return setup1DWith(t, kind, substeps, sgd.Replacement, sde.Ito)
}

func setup1DWith(t *testing.T, kind sde.Kind, substeps int, samp sgd.Sampling, scheme sde.Scheme) (*sde.Factory,
	Context, []float64, float64, float64) {
	o, err := model.Build("linear", "mse", data.Gauss(10000, 1, 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	fl, ok := model.NewFeatureLandscape(o, false)
	if !ok {
		t.Fatal("linear regression has a moment-based landscape")
	}
	m := fl.Moments()
	th := []float64{m.Bv[0] / m.C[0]}
	lstar, h := fl.LossGrad(th, nil), m.C[0]
	fac, err := sde.NewFactory(
		o,
		sde.Config{Kind: kind, Eta: 0.1, Batch: 1, Sampling: samp, Scheme: scheme, Substeps: substeps,
			HStar: curvature.DenseFactor(1, []float64{h}), LStar: lstar, HScalar: h},
	)
	if err != nil {
		t.Fatal(err)
	}
	return fac, Context{Obj: o, ThetaStar: th, LStar: lstar, NewLand: fac.NewLandscape}, th, lstar, h
}

// The decoupled SDE in 1-D has an exactly computable MFPT to L = c L* (quadrature of the
// diffusion with D = eta L h* / B, reflecting at theta*): the ensemble mean agrees within
// 4 standard errors. An exit monitored every dt is crossed late; Broadie and Glasserman's
// continuity correction moves the barrier out by 0.5826 sqrt(2 D dt), which matters here
// because the MFPT grows steeply with the threshold.
func TestMFPTAgainstQuadrature(t *testing.T) {
	fac, ec, th, lstar, h := setup1D(t, sde.Decoupled, 20)
	spec, err := ParseExit("loss:c=1.3,1.6")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := simulate(t, fac, spec, ec, th, 1000, 2, Options{Seed: 3, MaxTime: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	rates := Rates(runs, spec.C, 0.1)
	for _, r := range rates {
		// theta in units of the distance from theta*: L = L* + h u^2 / 2.
		uc := math.Sqrt(2 * lstar * (r.Level - 1) / h)
		mu := func(u float64) float64 { return -h * u }
		D := func(u float64) float64 { return 0.1 * (lstar + h*u*u/2) * h / 1 }
		uc += 0.5826 * math.Sqrt(2*D(uc)*0.1/20)
		want, err := theory.MFPT1D(mu, D, 0, 0, uc, 20000)
		if err != nil {
			t.Fatal(err)
		}
		z := (float64(r.MFPT) - want) / float64(r.MFPTSE)
		t.Logf("c=%.2f: MFPT %.3f +- %.3f, quadrature %.3f (z = %.2f), escaped %d", r.Level, r.MFPT, r.MFPTSE, want,
			z, r.Escaped)
		if math.Abs(z) > 4 {
			t.Errorf("c=%.2f: MFPT %.3f +- %.3f vs quadrature %.3f", r.Level, r.MFPT, r.MFPTSE, want)
		}
	}
	_ = th
}

// Results do not depend on the number of workers, and resuming skips finished runs.
func TestDeterministicAcrossWorkers(t *testing.T) {
	fac, ec, th, _, _ := setup1D(t, sde.SGD, 1)
	spec, err := ParseExit("loss:c=1.5")
	if err != nil {
		t.Fatal(err)
	}
	a, err := simulate(t, fac, spec, ec, th, 20, 1, Options{Seed: 9, MaxTime: 1e5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := simulate(t, fac, spec, ec, th, 20, 2, Options{Seed: 9, MaxTime: 1e5})
	if err != nil {
		t.Fatal(err)
	}
	byIdx := map[int]Run{}
	for _, r := range a {
		byIdx[r.Index] = r
	}
	for _, r := range b {
		if r.Times[0] != byIdx[r.Index].Times[0] || r.Steps[0] != byIdx[r.Index].Steps[0] {
			t.Fatalf("run %d differs between 1 and 2 workers", r.Index)
		}
	}
}

func TestCensoringAndBadExits(t *testing.T) {
	fac, ec, th, _, _ := setup1D(t, sde.SGD, 1)
	spec, err := ParseExit("loss:c=50")
	if err != nil {
		t.Fatal(err)
	}
	runs, err := simulate(t, fac, spec, ec, th, 10, 2, Options{Seed: 1, MaxSteps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r := Rates(runs, spec.C, 0.1)[0]
	if r.Escaped != 0 || r.Censored != 10 || r.Warning == "" || !(r.Hi > 0) ||
		math.Abs(r.Exposure-10*1000*0.1) > 1e-6 {
		t.Fatalf("fully censored ensemble: %+v", r)
	}
	for _, bad := range []string{"loss:c=1", "loss:c=0.5", "loss", "ball", "foo", "loss:c=x", "basin:every=0"} {
		if _, err := ParseExit(bad); err == nil {
			t.Errorf("--exit %s accepted", bad)
		}
	}
	if _, err := (ExitSpec{Kind: "basin", Check: 1}).New(ec); err == nil {
		t.Error("basin exit on a quadratic loss accepted")
	}
}

// The fused loop for loss exits (sde.LossStepper) records exactly what the step-by-step
// loop records: several nested levels, runs that escape, runs censored by the time budget
// and runs censored by the step budget (budgets not aligned with the 1024-step stretches),
// for the scalar kernels of SGD (both samplings) and of the decoupled SDE (Ito) and for the
// generic fused loop (the SDE with Heun's scheme).
func TestFusedLossExitMatchesStepByStep(t *testing.T) {
	for _, c := range []struct {
		kind   sde.Kind
		samp   sgd.Sampling
		scheme sde.Scheme
	}{{sde.SGD, sgd.Replacement, sde.Ito}, {sde.SGD, sgd.Epoch, sde.Ito}, {sde.Decoupled, sgd.Replacement, sde.Ito},
		{sde.Decoupled, sgd.Replacement, sde.Stratonovich}} {
		t.Run(fmt.Sprintf("%v-%v-%v", c.kind, c.samp, c.scheme), func(t *testing.T) {
			fac, ec, th, _, _ := setup1DWith(t, c.kind, 1, c.samp, c.scheme)
			fusedMatchesStepByStep(t, fac, ec, th)
		})
	}
}

func fusedMatchesStepByStep(t *testing.T, fac *sde.Factory, ec Context, th []float64) {
	spec, err := ParseExit("loss:c=1.2,1.5,2.5")
	if err != nil {
		t.Fatal(err)
	}
	budget := 0.0 // exactly the time after 2500 steps, so that the boundary case is met
	for range 2500 {
		budget += 0.1
	}
	for _, opt := range []Options{{Seed: 4, MaxTime: budget}, {Seed: 4, MaxSteps: 3001}} {
		fused, err := simulate(t, fac, spec, ec, th, 30, 2, opt)
		if err != nil {
			t.Fatal(err)
		}
		fuseLossExits = false
		plain, err := simulate(t, fac, spec, ec, th, 30, 2, opt)
		fuseLossExits = true
		if err != nil {
			t.Fatal(err)
		}
		byIdx := map[int]Run{}
		for _, r := range plain {
			byIdx[r.Index] = r
		}
		escaped, censored := 0, 0
		for _, r := range fused {
			p := byIdx[r.Index]
			for j := range r.Times {
				if r.Times[j] != p.Times[j] || r.Steps[j] != p.Steps[j] || r.Escaped[j] != p.Escaped[j] {
					t.Fatalf("%+v: run %d level %d: fused (%v, %d, %v), step by step (%v, %d, %v)", opt, r.Index, j,
						r.Times[j], r.Steps[j], r.Escaped[j], p.Times[j], p.Steps[j], p.Escaped[j])
				}
				if r.Escaped[j] {
					escaped++
				} else {
					censored++
				}
			}
		}
		if escaped == 0 || censored == 0 {
			t.Fatalf("%+v: the comparison needs both escapes (%d) and censored levels (%d)", opt, escaped, censored)
		}
	}
}

// A run whose parameters blow up ends as diverged, never as an escape, whatever the exit
// (the old loop counted NaN distances as crossings); rates count it apart.
func TestDivergedRunIsNotAnEscape(t *testing.T) {
	o, err := model.Build("doublewell:a=0.25", "mse", data.Gauss(1000, 1, 0.2, 1))
	if err != nil {
		t.Fatal(err)
	}
	th := []float64{0.5}
	fac, err := sde.NewFactory(o, sde.Config{Kind: sde.SGD, Eta: 1000, Batch: 1, Sampling: sgd.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	land := fac.NewLandscape()
	ec := Context{Obj: o, ThetaStar: th, LStar: land.LossGrad(th, nil), NewLand: fac.NewLandscape,
		SaddleTheta: []float64{0}, SaddleDir: []float64{1}, OtherMin: []float64{-0.5}}
	for _, exit := range []string{"well", "ball:r=1e300"} {
		spec, err := ParseExit(exit)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := simulate(t, fac, spec, ec, th, 5, 2, Options{Seed: 1, MaxSteps: 5000})
		if err != nil || len(runs) != 5 {
			t.Fatalf("%s: %d runs, error %v", exit, len(runs), err)
		}
		for _, r := range runs {
			if r.Escaped[0] || !r.Diverged || r.Steps[0] >= 5000 {
				t.Fatalf("%s: run %d: escaped %v, diverged %v at step %d", exit, r.Index, r.Escaped[0], r.Diverged,
					r.Steps[0])
			}
		}
		if lr := Rates(runs, spec.Levels(), 1000)[0]; lr.Escaped != 0 || lr.Diverged != 5 ||
			!strings.Contains(lr.Warning, "diverged") {
			t.Fatalf("%s: rates %+v", exit, lr)
		}
	}
}

// The canonical exit string parses back to the same exit.
func TestExitString(t *testing.T) {
	for in, want := range map[string]string{"loss:c=2,1.5": "loss:c=1.5,2", "basin": "basin",
		"basin:every=10": "basin:every=10",
		"ball:r=0.50":    "ball:r=0.5", "well": "well:r=0.5", "surface:every=3": "surface:every=3",
		"loss:c=3,every=2": "loss:c=3,every=2"} {
		e, err := ParseExit(in)
		if err != nil || e.String() != want {
			t.Fatalf("%s: %q %v, want %q", in, e.String(), err, want)
		}
		again, err := ParseExit(e.String())
		if err != nil || again.String() != want {
			t.Fatalf("%s does not parse back: %v", want, err)
		}
	}
}

// FuzzExitSpec: any exit spec parses to one whose canonical string parses back equal, or
// fails with a one-line error of class ErrInvalid.
func FuzzExitSpec(f *testing.F) {
	for _, s := range []string{"loss:c=2", "loss:c=1.5,2,3", "basin:every=7", "ball:r=0.5", "surface", "well:r=0.25",
		"loss:c=Inf", "ball:r=NaN", "well:r=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExit(s)
		if err != nil {
			if !errors.Is(err, fault.ErrInvalid) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		again, err := ParseExit(e.String())
		if err != nil || again.String() != e.String() {
			t.Fatalf("%q -> %q does not parse back: %v", s, e.String(), err)
		}
	})
}
