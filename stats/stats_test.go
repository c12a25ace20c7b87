package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func betaPrime(rng *rand.Rand, n int, a, phi float64) []float64 {
	g1 := distuv.Gamma{Alpha: a, Beta: 1, Src: rng}
	g2 := distuv.Gamma{Alpha: phi - a, Beta: 1, Src: rng}
	u := make([]float64, n)
	for i := range u {
		u[i] = g1.Rand() / g2.Rand()
	}
	return u
}

// The power-law MLE recovers phi: 200 repetitions, each interval must cover the truth in
// about 95% of cases (binomial: 190 +- 3 sigma = [181, 199]).
func TestFitPowerLawCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ a, phi float64 }{{0.5, 3}, {0.5, 11}, {2.5, 6}} {
		covered := 0
		for r := 0; r < 200; r++ {
			f, err := FitPowerLaw(betaPrime(rng, 2000, c.a, c.phi), c.a, 1)
			if err != nil {
				t.Fatal(err)
			}
			if f.Lo <= c.phi && c.phi <= f.Hi {
				covered++
			}
		}
		if covered < 181 {
			t.Errorf("a=%v phi=%v: 95%% interval covered the truth %d/200 times", c.a, c.phi, covered)
		}
	}
}

func TestPowerLawAgainstGibbs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	u := betaPrime(rng, 5000, 0.5, 4)
	pl, _ := FitPowerLaw(u, 0.5, 1)
	gb, _ := FitGibbs(u, 0.5, 1, 1)
	z, p := Vuong(pl.PerLL, gb.PerLL, 1)
	if z <= 0 || pl.LogLik <= gb.LogLik || pl.KSp < 0.001 || gb.KSp > 1e-6 {
		t.Fatalf("power-law data: Vuong z=%v p=%v, KS p power %v Gibbs %v", z, p, pl.KSp, gb.KSp)
	}
	// Gamma data (the Gibbs law) must favour Gibbs; its temperature is recovered.
	g := distuv.Gamma{Alpha: 0.5, Beta: 2, Src: rng}
	for i := range u {
		u[i] = g.Rand()
	}
	gb, _ = FitGibbs(u, 0.5, 1, 1) // L* = 1: T = 1/rate = 0.5
	pl, _ = FitPowerLaw(u, 0.5, 1)
	if math.Abs(gb.Param-0.5) > 4*gb.SE {
		t.Fatalf("Gibbs T = %v +- %v, want 0.5", gb.Param, gb.SE)
	}
	if z, _ := Vuong(pl.PerLL, gb.PerLL, 1); z > -2 {
		t.Fatalf("Gamma data: Vuong z = %v should favour Gibbs", z)
	}
}

// AR(1) with coefficient rho has tau = (1 + rho)/(1 - rho).
func TestAutocorrTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rho := range []float64{0, 0.5, 0.9} {
		x := make([]float64, 200000)
		for i := 1; i < len(x); i++ {
			x[i] = rho*x[i-1] + rng.NormFloat64()
		}
		tau, _ := AutocorrTime(x)
		want := (1 + rho) / (1 - rho)
		// The windowed estimator's relative error is about sqrt(2(2M+1)/n) ~ 2% here.
		if math.Abs(tau/want-1) > 0.08 {
			t.Errorf("rho=%v: tau %v, want %v", rho, tau, want)
		}
	}
}

func TestKolmogorovQ(t *testing.T) {
	// Q(1.36) ~ 0.049 and Q(1.63) ~ 0.0098 (standard table values).
	if math.Abs(KolmogorovQ(1.36)-0.0494) > 0.001 || math.Abs(KolmogorovQ(1.63)-0.0098) > 0.0005 {
		t.Fatalf("Q(1.36)=%v Q(1.63)=%v", KolmogorovQ(1.36), KolmogorovQ(1.63))
	}
}

// Exponential waiting times censored at a budget: the MLE rate is within its interval of
// the truth in ~95% of repetitions, and the exponential test rejects rarely.
func TestEstimateRateCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const kappa, budget = 0.5, 3.0
	covered, rejected := 0, 0
	for rep := 0; rep < 400; rep++ {
		times := make([]float64, 100)
		esc := make([]bool, 100)
		for i := range times {
			t := rng.ExpFloat64() / kappa
			if t > budget {
				times[i] = budget
			} else {
				times[i], esc[i] = t, true
			}
		}
		r := EstimateRate(times, esc)
		if r.Lo <= kappa && kappa <= r.Hi {
			covered++
		}
		u := make([]float64, 100)
		e := make([]bool, 100)
		for i := range u {
			u[i], e[i] = rng.ExpFloat64()/kappa, true
		}
		if EstimateRate(u, e).ExpReject {
			rejected++
		}
	}
	// Binomial(400, 0.95): mean 380, sd 4.4; Binomial(400, 0.05) for rejections: mean 20, sd 4.4.
	if covered < 366 || rejected > 34 {
		t.Fatalf("coverage %d/400, exponential test rejected %d/400", covered, rejected)
	}
}

// One escape has a mean time but no spread: its standard error and coefficient of variation
// are not measured (NaN), never zero.
func TestEstimateRateOneEscape(t *testing.T) {
	r := EstimateRate([]float64{2.7}, []bool{true})
	if float64(r.MFPT) != 2.7 || !math.IsNaN(float64(r.MFPTSE)) || !math.IsNaN(float64(r.CV)) {
		t.Fatalf("one escape: MFPT %v +- %v, CV %v", r.MFPT, r.MFPTSE, r.CV)
	}
	r = EstimateRate([]float64{1, 3}, []bool{true, true})
	if float64(r.MFPTSE) != 1 || math.Abs(float64(r.CV)-math.Sqrt2/2) > 1e-15 {
		t.Fatalf("two escapes: SE %v, CV %v", r.MFPTSE, r.CV)
	}
}

func TestFitLine(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	y := []float64{1, 3, 5, 7}
	f := FitLine(x, y, []float64{1, 1, 1, 1})
	if math.Abs(f.Slope-2) > 1e-12 || math.Abs(f.Intercept-1) > 1e-12 || f.Chi2 > 1e-20 {
		t.Fatalf("%+v", f)
	}
	// Slope SE for unit errors: sqrt(S/(S Sxx - Sx^2)) = sqrt(4/(4*14 - 36)) = sqrt(0.2).
	if math.Abs(f.SlopeSE-math.Sqrt(0.2)) > 1e-12 {
		t.Fatalf("slope SE %v", f.SlopeSE)
	}
}

// Interval95 stays above the floor, is x +- 1.96 se for small se, and refuses an estimate at
// or below the floor.
func TestInterval95(t *testing.T) {
	// The difference is second order: (1.96 se)^2 / (2 (x - floor)) = 4.8e-7.
	lo, hi := Interval95(5, 1e-3, 1)
	if math.Abs(lo-(5-1.96e-3)) > 1e-6 || math.Abs(hi-(5+1.96e-3)) > 1e-6 {
		t.Errorf("small se: [%v, %v], want 5 -+ 1.96e-3", lo, hi)
	}
	// 27.88 +- 14.71 with floor 1 (phi > n/2 for n = 2): Wald would reach -0.96.
	lo, hi = Interval95(27.88, 14.71, 1)
	if !(lo > 1 && lo < 27.88 && hi > 27.88+1.96*14.71) {
		t.Errorf("wide interval [%v, %v] leaves the domain phi > 1 or is not log-symmetric", lo, hi)
	}
	if r := (27.88 - 1) / (lo - 1); math.Abs(r-(hi-1)/(27.88-1)) > 1e-9 {
		t.Errorf("not symmetric in log(x - floor): %v vs %v", r, (hi-1)/(27.88-1))
	}
	for _, c := range [][3]float64{{1, 0.1, 1}, {0.5, 0.1, 1}, {math.NaN(), 1, 0}, {2, math.NaN(), 0}} {
		if lo, hi := Interval95(c[0], c[1], c[2]); !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("Interval95%v = [%v, %v], want NaN", c, lo, hi)
		}
	}
}
