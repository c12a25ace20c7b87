package landscape

import (
	"context"
	"math"
	"testing"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/model"
)

// The double well's barrier: minima near (+-sqrt(a), 0), saddle near the origin with
// L^s - L* ~ a^2/2 and curvature -2a along theta_1 (finite-N corrections O(1/sqrt(N))).
func TestDoubleWellBarrier(t *testing.T) {
	const a = 0.25
	o, _ := model.Build("doublewell:a=0.25", "mse", data.Gauss(20000, 2, 0.4, 5))
	w := o.NewWorker(1, 0)
	ctx := context.Background()
	pa, err := Minimize(ctx, w, []float64{0.6, 0.1}, MinimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Minimize(ctx, w, []float64{-0.6, -0.1}, MinimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	br, err := FindBarrier(ctx, w, pa.Theta, pb.Theta)
	if err != nil {
		t.Fatal(err)
	}
	s := br.Saddle
	if s.Index != 1 || math.Abs(s.Theta[0]) > 0.05 || math.Abs(s.NegEig+2*a) > 0.05 {
		t.Fatalf("saddle %v index %d negative eigenvalue %v", s.Theta, s.Index, s.NegEig)
	}
	if math.Abs(br.DeltaL-a*a/2) > 0.01 {
		t.Fatalf("Delta L = %v, want ~%v", br.DeltaL, a*a/2)
	}
	th := br.Theory()
	if th.N != 2 || math.Abs(th.HStar-1) > 0.05 {
		t.Fatalf("theory inputs %+v", th)
	}
	// The gradient at the refined saddle vanishes to the requested tolerance.
	if s.GradNorm > 1e-8 {
		t.Fatalf("|grad L| at saddle %v", s.GradNorm)
	}
	// Two identical points are refused.
	if _, err := FindBarrier(ctx, w, pa.Theta, pa.Theta); err == nil {
		t.Fatal("coinciding minima accepted")
	}
	// A non-minimum is refused.
	if _, err := FindBarrier(ctx, w, []float64{0.1, 0.1}, pb.Theta); err == nil {
		t.Fatal("a non-minimum accepted")
	}
}

// A tiny tanh network f = w2 tanh(w1 x) fitting y = tanh(2x) + noise has the symmetric minima
// (w1, w2) and (-w1, -w2) and an index-1 saddle at the origin.
func TestTanhNetworkBarrier(t *testing.T) {
	ds, err := data.Load("tanh:N=2000,w=2,sigma=0.3,seed=4", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := model.Build("mlp:1-1-1:tanh:nobias", "mse", ds)
	w := o.NewWorker(1, 0)
	ctx := context.Background()
	pa, err := Minimize(ctx, w, []float64{1, 1}, MinimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	br, err := FindBarrier(ctx, w, pa.Theta, []float64{-pa.Theta[0], -pa.Theta[1]})
	if err != nil {
		t.Fatal(err)
	}
	if math.Hypot(br.Saddle.Theta[0], br.Saddle.Theta[1]) > 1e-6 {
		t.Fatalf("saddle at %v, expected the origin", br.Saddle.Theta)
	}
	// At the origin f = 0, so L^s = (1/N) sum y^2 / 2 exactly; the saddle has index 1 and the
	// minimum a positive definite Hessian.
	ly := 0.0
	for _, y := range ds.Y {
		ly += y * y / 2
	}
	ly /= float64(ds.N)
	if math.Abs(br.Saddle.Loss-ly) > 1e-12*ly || br.Saddle.Index != 1 || !(br.Saddle.NegEig < 0) {
		t.Fatalf("saddle: L^s %v (exact %v), index %d, negative eigenvalue %v", br.Saddle.Loss, ly, br.Saddle.Index,
			br.Saddle.NegEig)
	}
	if !(br.MinA.Eigs[len(br.MinA.Eigs)-1] > 0) || !(pa.Loss < br.Saddle.Loss) {
		t.Fatalf("minimum: eigenvalues %v, L* %v against L^s %v", br.MinA.Eigs, pa.Loss, br.Saddle.Loss)
	}
	t.Logf("minimum %v L*=%.4f, saddle L^s=%.4f, eigenvalues at min %v, at saddle %v", pa.Theta, pa.Loss,
		br.Saddle.Loss, br.MinA.Eigs, br.Saddle.Eigs)
}
