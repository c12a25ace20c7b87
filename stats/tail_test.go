package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Exact Pareto samples: Hill's estimate lies within 3 of its standard errors of the true
// alpha, and its interval covers it at the stated rate over repetitions.
func TestHillPareto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	const alpha, n, reps = 2.5, 20000, 200
	covered := 0
	for r := range reps {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Pow(1-rng.Float64(), -1/alpha)
		}
		f, err := Hill(x, HillK(n), 1)
		if err != nil {
			t.Fatal(err)
		}
		if f.CILo <= alpha && alpha <= f.CIHi {
			covered++
		}
		if r == 0 && math.Abs(f.Alpha-alpha) > 3*f.SE {
			t.Errorf("Hill %v +- %v, true %v", f.Alpha, f.SE, alpha)
		}
	}
	// Coverage of a 95% interval over 200 repetitions: binomial SE 1.5%.
	if c := float64(covered) / reps; math.Abs(c-0.95) > 4*math.Sqrt(0.95*0.05/reps) {
		t.Errorf("95%% interval covered alpha in %.1f%% of repetitions", 100*c)
	}
}

// A body that is not a power law (log-normal below 3) with a Pareto tail above it: the CSN
// threshold lands near the join and the tail index is recovered; a fit to everything is off.
func TestCSNFindsTheTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const alpha, n = 3.0, 100000
	x := make([]float64, n)
	for i := range x {
		if rng.Float64() < 0.8 {
			for {
				x[i] = math.Exp(0.4 * rng.NormFloat64())
				if x[i] < 3 {
					break
				}
			}
		} else {
			x[i] = 3 * math.Pow(1-rng.Float64(), -1/alpha)
		}
	}
	f, err := CSN(x, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CSN: alpha %.3f +- %.3f, x_min %.3f, k %d, KS %.4f", f.Alpha, f.SE, f.XMin, f.K, f.KS)
	if math.Abs(f.Alpha-alpha) > 3*f.SE || f.XMin < 2.5 {
		t.Errorf("CSN alpha %v +- %v at x_min %v, want %v above 3", f.Alpha, f.SE, f.XMin, alpha)
	}
	all, _ := Hill(x, n/2, 1)
	if math.Abs(all.Alpha-alpha) < 10*all.SE {
		t.Errorf("a fit to half the data should be biased: %v", all.Alpha)
	}
	if _, err := Hill(x[:5], 10, 1); err == nil {
		t.Error("k beyond the sample should be an error")
	}
}
