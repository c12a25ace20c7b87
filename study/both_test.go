package study

import (
	"context"
	"math"
	"testing"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/theory"
)

// On the one-parameter asymmetric well (minimum A e^(4k sqrt(a)) = 2.7 times sharper than
// B), the decoupled SDE's occupation of A, measured by long runs labelled by the last core
// visited, equals the renewal value T_AB / (T_AB + T_BA) with the exact mean first-passage
// times between the cores by quadrature, within 3 standard errors (batch means).
func TestOccupationMatchesQuadrature(t *testing.T) {
	if testing.Short() {
		t.Skip("long SDE runs")
	}
	ctx := context.Background()
	prob := Problem{Model: "asymwell:a=0.25,k=0.5", Data: "gauss:N=10000,d=1,sigma=0.25,seed=1", Loss: "mse"}
	dyn := Dynamics{Kind: "decoupled", Eta: 0.2, Batch: 1, Sampling: "replacement", Substeps: 20}
	const r = 0.5
	rec, err := BothWays(ctx, Env{Ens: ensemble.Env{Workers: 2}, Stage: func(m string) { t.Log(m) }},
		BothSpec{Problem: prob, Dynamics: dyn, WellR: r,
			Runs: 20, Seed: 1, OccRuns: 4, OccSteps: 10_000_000, OccBlocks: 50})
	if err != nil {
		t.Fatal(err)
	}
	o, err := prob.Build(ctx, Env{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rec.AB.Barrier.MinA.Theta[0], rec.AB.Barrier.MinB.Theta[0]
	s := rec.AB.Barrier.Saddle.Theta[0]
	w, ok := model.NewFeatureLandscape(o, false)
	if !ok {
		t.Fatal("no moment landscape")
	}
	x, g := make([]float64, 1), make([]float64, 1)
	mu := func(v float64) float64 { x[0] = v; w.LossGrad(x, g); return -g[0] }
	D := func(v float64) float64 {
		x[0] = v
		return dyn.Eta * w.LossGrad(x, nil) * rec.HStarA / float64(dyn.Batch)
	}
	inA, inB := a+r*(s-a), b+r*(s-b)
	tAB, err := theory.MFPT1D(mu, D, a+10*(a-s), inA, inB, 200000)
	if err != nil {
		t.Fatal(err)
	}
	tBA, err := theory.MFPT1D(mu, D, b+10*(b-s), inB, inA, 200000)
	if err != nil {
		t.Fatal(err)
	}
	want := tAB / (tAB + tBA)
	occ := rec.Occupation
	z := (float64(occ.FractionA) - want) / float64(occ.SE)
	t.Logf("occupation of A %.4f +- %.4f (%d and %d transitions), renewal with quadrature %.4f (T_AB %.4g, T_BA %.4g, "+
		"z = %.2f)", occ.FractionA, occ.SE, occ.Transitions[0], occ.Transitions[1], want, tAB, tBA, z)
	if !(math.Abs(z) <= 3) || occ.Transitions[0] < 1000 {
		t.Errorf("occupation %.4f +- %.4f against %.4f", occ.FractionA, occ.SE, want)
	}
}

// On an asymmetric well (k = 0.1), real SGD with replacement (eta = 0.1, where no run
// diverges) occupies the sharper minimum A as the exact chain's mean first-passage times
// between the wells say (renewal), within 3 standard errors; blocks of about 20 transition
// cycles make the batch means independent.
func TestChainOccupationMatchesSGD(t *testing.T) {
	if testing.Short() {
		t.Skip("long SGD runs")
	}
	ctx := context.Background()
	prob := Problem{Model: "asymwell:a=0.25,k=0.1", Data: "gauss:N=4000,d=1,sigma=0.6,seed=1", Loss: "mse"}
	dyn := Dynamics{Kind: "sgd", Eta: 0.1, Batch: 1, Sampling: "replacement"}
	env := Env{Ens: ensemble.Env{Workers: 2}}
	rec, err := BothWays(ctx, env, BothSpec{Problem: prob, Dynamics: dyn, WellR: 0.5, Runs: 20, Seed: 3, OccRuns: 4,
		OccSteps: 10_000_000, OccBlocks: 20})
	if err != nil {
		t.Fatal(err)
	}
	mfpt := func(start, to []float64) float64 {
		c, err := Chain(ctx, env, ChainSpec{Problem: prob, Eta: dyn.Eta, Batch: 1, Exit: "well:r=0.5", Start: start,
			To: to, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		return float64(c.Levels[0].MFPT)
	}
	a, b := rec.AB.Barrier.MinA.Theta, rec.AB.Barrier.MinB.Theta
	tAB, tBA := mfpt(a, b), mfpt(b, a)
	want := tAB / (tAB + tBA)
	occ := rec.Occupation
	z := (float64(occ.FractionA) - want) / float64(occ.SE)
	t.Logf("SGD occupation of A %.4f +- %.4f (%d transitions), exact chain %.4f (T_AB %.4g, T_BA %.4g; z = %.2f)",
		occ.FractionA, occ.SE, occ.Transitions[0], want, tAB, tBA, z)
	if !(math.Abs(z) <= 3) || occ.Transitions[0] < 1000 {
		t.Errorf("occupation %.4f +- %.4f against %.4f", occ.FractionA, occ.SE, want)
	}
}

// restrict's determinant ratio over the n largest directions: det over those at the minimum
// against |h_e^s| and the n - 1 largest positive ones at the saddle; not defined when one of
// them is flat, defined when the flat direction lies outside the n.
func TestRestrict(t *testing.T) {
	br := &landscape.Barrier{
		MinA:   &landscape.Minimum{Point: landscape.Point{Loss: 1}, Eigs: []float64{4, 2, 1e-12}, Dense: true},
		Saddle: &landscape.Saddle{Point: landscape.Point{Loss: 2}, Eigs: []float64{-0.5, 1e-12, 3}, NegEig: -0.5}}
	if r := float64(restrict(br, 2).DetRatio); math.Abs(r-4*2/(0.5*3)) > 1e-12 {
		t.Errorf("n = 2: det ratio %v, want %v", r, 4*2/(0.5*3))
	}
	if r := restrict(br, 3).DetRatio; !math.IsNaN(float64(r)) {
		t.Errorf("n = 3 includes the flat directions: det ratio %v, want NaN", r)
	}
	if r := br.Theory().DetRatio; !math.IsNaN(float64(r)) {
		t.Errorf("all directions: det ratio %v, want NaN", r)
	}
}
