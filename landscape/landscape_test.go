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

// The determinant ratio over complete spectra is det H*/|det H^s|, and not defined (NaN, with
// the reason) when either point has a flat direction; partial spectra need a non-flat
// negative curvature at the saddle.
func TestDeterminantRatio(t *testing.T) {
	bar := func(minEigs, sadEigs []float64, dense bool) *Barrier {
		return &Barrier{MinA: &Minimum{Point: Point{Loss: 1}, Eigs: minEigs, Dense: dense},
			Saddle: &Saddle{Point: Point{Loss: 2}, Eigs: sadEigs, NegEig: sadEigs[0]}}
	}
	b := bar([]float64{4, 1}, []float64{-0.5, 2}, true)
	if got := float64(b.Theory().DetRatio); b.Degenerate() != "" || math.Abs(got-4) > 1e-12 {
		t.Errorf("det ratio %v (want 4 = 4*1/(0.5*2)), degenerate %q", got, b.Degenerate())
	}
	for _, c := range []struct {
		min, sad []float64
		dense    bool
	}{
		{[]float64{4, 1e-12}, []float64{-0.5, 2}, true}, // flat at the minimum
		{[]float64{4, 1}, []float64{-0.5, 0}, true},     // flat at the saddle
		{[]float64{4, 0}, []float64{-0.5, 0}, true},     // 0/0
		{[]float64{4, 1}, []float64{-1e-9, 2}, false},   // a flat barrier top, partial spectra
	} {
		b := bar(c.min, c.sad, c.dense)
		if d := b.Theory().DetRatio; !math.IsNaN(float64(d)) || b.Degenerate() == "" {
			t.Errorf("%v / %v: det ratio %v, reason %q", c.min, c.sad, d, b.Degenerate())
		}
	}
	if k := Flat([]float64{1, -1e-9, 1e-8, 2e-8, 0}); k != 3 {
		t.Errorf("Flat counted %d, want 3 (|h| <= 1e-8 of the largest)", k)
	}
}

// Basin on the double well: points on A's side of the saddle (near A, or far out beyond it)
// flow to A; points past the saddle flow to B.
func TestBasin(t *testing.T) {
	o, _ := model.Build("doublewell:a=0.25", "mse", data.Gauss(2000, 2, 0.4, 5))
	w := o.NewWorker(1, 0)
	pa, err := Minimize(context.Background(), w, []float64{0.6, 0.1}, MinimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Characterize(w, pa.Theta, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := Basin(o, func() model.Landscape { return model.Landscape(o.NewWorker(1, 0)) }, pa.Theta, m.Eigs[0])
	if in == nil {
		t.Fatal("the double well has no basin test")
	}
	a := pa.Theta[0]
	for _, c := range []struct {
		x    float64
		want bool
	}{{a, true}, {a * 1.001, true}, {a * 0.3, true}, {a * 3, true}, {-0.3 * a, false}, {-a, false}} {
		if got := in([]float64{c.x, pa.Theta[1] + 0.05}); got != c.want {
			t.Errorf("theta_1 = %.3g (minimum at %.3g): in basin %v, want %v", c.x, a, got, c.want)
		}
	}
}
