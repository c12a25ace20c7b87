package chain

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// The reference values of docs/theory.md ("Discrete time"): Gaussian population, B = 1.
func TestKestenGaussianReferences(t *testing.T) {
	for _, c := range []struct{ eta, want float64 }{{0.5, 2.904}, {0.1, 17.285}, {0.02, 89.11}} {
		a, err := KestenGaussian(c.eta, 1, 1)
		if err != nil || math.Abs(a-c.want) > 1e-3 {
			t.Errorf("eta = %g: alpha = %.5f (%v), want %g", c.eta, a, err, c.want)
		}
	}
	// The scale: x ~ N(0, h) at step eta is x ~ N(0, 1) at step eta h.
	a1, _ := KestenGaussian(0.25, 1, 2)
	a2, _ := KestenGaussian(0.5, 1, 1)
	if math.Abs(a1-a2) > 1e-9 {
		t.Errorf("scaling: %v vs %v", a1, a2)
	}
	if _, err := KestenGaussian(2.5, 1, 1); !errors.Is(err, ErrNoStationary) {
		t.Errorf("eta h > 2 does not contract on average: %v", err)
	}
	// Close to the edge of contraction alpha is small but positive, the root of
	// E|1 - 1.99 Z^2|^alpha = 1 (a Monte Carlo of 2e6 normals gives 1.0001 at alpha = 0.1702),
	// never the trivial root 0 of the bracket's end.
	if a, err := KestenGaussian(1.99, 1, 1); err != nil || math.Abs(a-0.1702) > 2e-3 {
		t.Errorf("eta h = 1.99: alpha = %v (%v), want 0.1702", a, err)
	}
	// With n = 2 at eta h = 1.5 the chain expands on average: E log|A e_1| = +0.25 (a Monte
	// Carlo of 1e6 draws), so there is no stationary law although n < n_c = 3.33.
	if _, _, err := KestenIsotropic(1.5, 1, 2, 1, 100000, 1); !errors.Is(err, ErrNoStationary) {
		t.Errorf("n = 2, eta h = 1.5: %v, want no stationary law", err)
	}
	// Large batches at eta h = 0.01: alpha grows like B/(eta h). The references are roots of
	// log E|1 - c Y|^alpha = 0, Y ~ chi-square(B), by mpmath quadrature at 40 digits with the
	// peak beyond c Y = 1 split out (17678.0315015775 at B = 100, 176757.653106326 at B =
	// 1000, where the quadrature once overflowed to NaN and then missed that peak); beyond
	// 10^6 there is no tail.
	for _, c := range []struct {
		b    int
		want float64
	}{{100, 17678.0315015775}, {1000, 176757.653106326}} {
		if a, err := KestenGaussian(0.01, c.b, 1); err != nil || math.Abs(a/c.want-1) > 1e-6 {
			t.Errorf("B = %d: alpha = %v (%v), want about %g", c.b, a, err, c.want)
		}
	}
	// The zero of 1 - c Y inside the bulk of chi-square(B) (eta h near 1 with a large batch),
	// where the integrand peaks on both sides of the zero: mpmath references as above.
	for _, c := range []struct {
		etaH float64
		b    int
		want float64
	}{{1, 1000, 651.007456592693}, {0.5, 100, 222.311889419083}, {1.2, 50, 21.6409478483019}} {
		if a, err := KestenGaussian(c.etaH, c.b, 1); err != nil || math.Abs(a/c.want-1) > 1e-9 {
			t.Errorf("eta h = %g, B = %d: alpha = %v (%v), want %v", c.etaH, c.b, a, err, c.want)
		}
	}
	// A batch of 2^31 is computed, not overflowed (the equation was once +Inf there).
	if _, err := KestenGaussian(1, 1<<31, 1); !errors.Is(err, ErrNoTail) {
		t.Errorf("B = 2^31: %v", err)
	}
	if _, err := KestenGaussian(0.01, 10000, 1); !errors.Is(err, ErrNoTail) {
		t.Errorf("no heavy tail: %v", err)
	}
}

// A large Gaussian sample's exact multipliers (B = 1) and Monte Carlo batches (B = 4) give
// the population's alpha; population dynamics of 1 x 1 products agrees with quadrature.
func TestKestenEstimatorsAgree(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 1_000_000)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	pop1, _ := KestenGaussian(0.5, 1, 1)
	data1, _, err := KestenBatches(x, 0.5, 1, 0, 1)
	if err != nil || math.Abs(data1-pop1) > 0.03 {
		t.Errorf("B = 1: data %v (%v), population %v", data1, err, pop1)
	}
	pop4, _ := KestenGaussian(1, 4, 1)
	data4, se4, err := KestenBatches(x, 1, 4, 1_000_000, 1)
	if err != nil || math.Abs(data4-pop4) > 4*se4+0.01*pop4 {
		t.Errorf("B = 4: data %v (%v), population %v", data4, err, pop4)
	}
	draw := func(r *rand.Rand, a []float64) { z := r.NormFloat64(); a[0] = 1 - 0.5*z*z }
	mc, se, corr, err := KestenProducts(draw, 1, 2000, 500, 4, 3)
	if err != nil || math.Abs(mc-pop1) > 4*se {
		t.Errorf("population dynamics %v +- %v (%v), quadrature %v", mc, se, err, pop1)
	}
	t.Logf("eta 0.5: population %.4f, data %.4f, products %.4f +- %.4f (correction %.3g); B = 4, eta 1: population "+
		"%.4f, data %.4f", pop1, data1, mc, se, corr, pop4, data4)
}

// In two dimensions the isotropic population's one-step law (independent norm factors) and
// population dynamics of the 2 x 2 products agree, and in one dimension the one-step Monte
// Carlo agrees with quadrature.
func TestKestenIsotropic(t *testing.T) {
	t.Parallel()
	a1, se1, err := KestenIsotropic(0.5, 1, 1, 1, 1_000_000, 5)
	pop, _ := KestenGaussian(0.5, 1, 1)
	if err != nil || math.Abs(a1-pop) > 4*se1 {
		t.Errorf("d = 1: one-step Monte Carlo %v +- %v (%v), quadrature %v", a1, se1, err, pop)
	}
	a2, se2, err := KestenIsotropic(0.4, 1, 2, 1, 1_000_000, 5)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(r *rand.Rand, a []float64) {
		x, y := r.NormFloat64(), r.NormFloat64()
		a[0], a[1], a[2], a[3] = 1-0.4*x*x, -0.4*x*y, -0.4*x*y, 1-0.4*y*y
	}
	mc, se, corr, err := KestenProducts(draw, 2, 2000, 500, 4, 9)
	t.Logf("d = 2, eta 0.4: one step %.4f +- %.4f, products %.4f +- %.4f (correction %.3g); d = 1: %.4f +- %.4f vs "+
		"%.4f",
		a2, se2, mc, se, corr, a1, se1, pop)
	if err != nil || math.Abs(mc-a2) > 4*math.Hypot(se, se2) {
		t.Errorf("d = 2: products %v +- %v (%v), one-step law %v +- %v", mc, se, err, a2, se2)
	}
}
