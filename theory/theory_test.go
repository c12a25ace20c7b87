package theory

import (
	"math"
	"testing"
)

// Brownian motion (mu = 0, D constant) from the reflecting end to distance L: T = L^2/(2D).
// With a constant drift v towards the absorbing end: T = L/v - D/v^2 (1 - exp(-v L / D)).
func TestMFPT1DClosedForms(t *testing.T) {
	const L, D = 2.0, 0.3
	got, err := MFPT1D(func(float64) float64 { return 0 }, func(float64) float64 { return D }, 0, 0, L, 20000)
	if err != nil || math.Abs(got/(L*L/(2*D))-1) > 1e-6 {
		t.Fatalf("Brownian MFPT %v, want %v (%v)", got, L*L/(2*D), err)
	}
	const v = 0.7
	want := L/v - D/(v*v)*(1-math.Exp(-v*L/D))
	got, _ = MFPT1D(func(float64) float64 { return v }, func(float64) float64 { return D }, 0, 0, L, 20000)
	if math.Abs(got/want-1) > 1e-6 {
		t.Fatalf("drifted MFPT %v, want %v", got, want)
	}
	// Mirror image: absorbing on the left.
	got, _ = MFPT1D(func(float64) float64 { return -v }, func(float64) float64 { return D }, 0, 0, -L, 20000)
	if math.Abs(got/want-1) > 1e-6 {
		t.Fatalf("mirrored MFPT %v, want %v", got, want)
	}
}

// Kramers' limit: for a double well with additive noise at low temperature the exact MFPT
// over the barrier approaches 1/kappa_Kramers (relative corrections O(T/Delta U)).
func TestMFPT1DKramersLimit(t *testing.T) {
	// U = (x^2 - 1)^2 / 4: minima +-1 (U'' = 2), saddle 0 (U'' = -1), Delta U = 1/4.
	for _, T := range []float64{0.02, 0.01} {
		mu := func(x float64) float64 { return -x * (x*x - 1) }
		D := func(float64) float64 { return T }
		// Time to reach the other minimum, reflecting far to the right.
		got, err := MFPT1D(mu, D, 4, 1, -1, 200000)
		if err != nil {
			t.Fatal(err)
		}
		kramers := math.Sqrt(2*1) / (2 * math.Pi) * math.Exp(-0.25/T)
		ratio := got * kramers
		if math.Abs(ratio-1) > 3*T/0.25 {
			t.Errorf("T=%v: MFPT * kappa_Kramers = %v", T, ratio)
		}
	}
}

func TestFormulas(t *testing.T) {
	b := Barrier{LMin: 0.1, LSaddle: 0.2, HStar: 1, HSaddleNeg: 0.5, DetRatio: 2, N: 1}
	// Exponent B/(eta h*) + 1 - n/2 = 10.5 for B = 1, eta = 0.1.
	if e := Exponent(1, 0.1, 1, 1); math.Abs(e-10.5) > 1e-12 {
		t.Fatal(e)
	}
	want := 0.5 / (2 * math.Pi) * math.Sqrt(2) * math.Pow(2, -10.5)
	if k := PowerLaw(b, 1, 0.1); math.Abs(k/want-1) > 1e-12 {
		t.Fatal(k, want)
	}
	// In one dimension the n-dimensional formula equals the 1-D one.
	if a, c := PowerLaw(b, 1, 0.1), PowerLaw1D(1, -0.5, 0.1, 0.2, 1, 0.1); math.Abs(a/c-1) > 1e-12 {
		t.Fatal(a, c)
	}
	// For Delta L << L* the power law approaches the frozen-noise form.
	b2 := Barrier{LMin: 1, LSaddle: 1.001, HStar: 1, HSaddleNeg: 1, DetRatio: 1, N: 2}
	if r := PowerLaw(b2, 1, 0.001) / Frozen(b2, 1, 0.001); math.Abs(r-1) > 0.01 {
		t.Fatalf("power law / frozen = %v for Delta L << L*", r)
	}
	if Phi(1, 0.1, 1) != 11 || NCritical(1, 0.1, 1) != 22 {
		t.Fatal("phi or n_c wrong")
	}
}

// In one dimension MFPTLossLevel equals MFPT1D on theta with reflection at theta*.
func TestMFPTLossLevel1D(t *testing.T) {
	const eta, h, ls, c = 0.1, 1.2, 0.4, 1.8
	a, err := MFPTLossLevel(eta, 2, h, 1, ls, c)
	if err != nil {
		t.Fatal(err)
	}
	rc := math.Sqrt(2 * ls * (c - 1) / h)
	b, _ := MFPT1D(func(x float64) float64 { return -h * x },
		func(x float64) float64 { return eta * (ls + h*x*x/2) * h / 2 }, 0, 0, rc, 40000)
	if math.Abs(a/b-1) > 1e-12 {
		t.Fatal(a, b)
	}
	// More directions escape faster (the (n-1) D / r drift pushes outwards).
	t2, _ := MFPTLossLevel(eta, 2, h, 2, ls, c)
	t4, _ := MFPTLossLevel(eta, 2, h, 4, ls, c)
	if !(t4 < t2 && t2 < a) {
		t.Fatalf("MFPT should fall with n: %v %v %v", a, t2, t4)
	}
}

// PhiEta against the variance of the law it names, by quadrature of (1 + h x^2/s^2)^-phi,
// and against the chain's variance eta s^2/(2B - eta h B - 2 eta h).
func TestPhiEta(t *testing.T) {
	for _, c := range []struct {
		b        int
		eta, h   float64
		expected float64
	}{{1, 0.1, 1, 10}, {4, 1, 1, 2.5}, {10, 0.2, 2, 20.5}} {
		phi := PhiEta(c.b, c.eta, c.h)
		if math.Abs(phi-c.expected) > 1e-12 {
			t.Errorf("B = %d, eta = %g, h = %g: %v, want %v", c.b, c.eta, c.h, phi, c.expected)
		}
		const s2 = 0.7
		chainVar := c.eta * s2 / (2*float64(c.b) - c.eta*c.h*float64(c.b) - 2*c.eta*c.h)
		// Variance of the law by the trapezoid rule on x = tan(u) (u in (-pi/2, pi/2)).
		num, den := 0.0, 0.0
		const k = 200000
		for i := 1; i < k; i++ {
			u := -math.Pi/2 + math.Pi*float64(i)/k
			x := math.Tan(u)
			w := math.Pow(1+c.h*x*x/s2, -phi) / (math.Cos(u) * math.Cos(u))
			num += x * x * w
			den += w
		}
		if got := num / den; math.Abs(got-chainVar)/chainVar > 1e-4 {
			t.Errorf("B = %d, eta = %g: law variance %v, chain variance %v", c.b, c.eta, got, chainVar)
		}
	}
	if !math.IsNaN(PhiEta(1, 1.5, 1)) {
		t.Error("an infinite variance should give NaN")
	}
	if PhiKesten(2.904, 1) != 1.952 {
		t.Error("phi_K")
	}
}
