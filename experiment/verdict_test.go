package experiment

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
)

// chk returns the check whose name contains name, failing the test when there is none.
func chk(t *testing.T, v Verdict, name string) Check {
	t.Helper()
	c, ok := v.Find(name)
	if !ok {
		var names []string
		for _, c := range v.Checks {
			names = append(names, c.Name)
		}
		t.Fatalf("no check %q among %q", name, names)
	}
	return c
}

// want asserts a check's outcome and, when measured is not NaN, its measured number.
func want(t *testing.T, c Check, o Outcome, measured float64) {
	t.Helper()
	if c.Outcome != o {
		t.Errorf("%s: outcome %s, want %s (%s)", c.Name, c.Outcome, o, c.Claim)
	}
	m := float64(c.Measured)
	switch {
	case math.IsNaN(measured) && !math.IsNaN(m):
		t.Errorf("%s: measured %v, want not measured", c.Name, m)
	case !math.IsNaN(measured) && !(math.Abs(m-measured) <= 1e-9*math.Max(1, math.Abs(measured))):
		t.Errorf("%s: measured %v, want %v", c.Name, m, measured)
	}
}

// statuses asserts the paper and exact statuses of a verdict.
func statuses(t *testing.T, what string, v Verdict, paper, exact Status) {
	t.Helper()
	if got := v.Status(Paper); got != paper {
		t.Errorf("%s: paper status %q, want %q: %s", what, got, paper, v.Text())
	}
	if got := v.Status(Exact); got != exact {
		t.Errorf("%s: exact status %q, want %q: %s", what, got, exact, v.Text())
	}
}

var crit = Criterion{Name: "test", Value: 3}

// The status rules, from checks alone: NaN and too few events are uninformative, never
// passing; a failing required check deviates; a failing full check with every required and
// fallback check passing is partial.
func TestStatusFromChecks(t *testing.T) {
	pass := atMost(Paper, crit, "a", 1, 5, "")
	fail := atMost(Paper, crit, "b", 4, 5, "")
	nanC := atMost(Paper, crit, "c", math.NaN(), 5, "")
	few := withinSE(Paper, crit, "d", 1, 1, 1, 2, minEscapes, "")
	partly := newCheck(Paper, crit, "e", 2, "").decide(false, 0, 0, "")
	partly.Outcome = Uninformative
	for _, c := range []struct {
		name   string
		checks []Check
		want   Status
	}{
		{"none", nil, NotMeasured},
		{"all pass", []Check{pass, pass}, Agrees},
		{"required fails", []Check{pass, fail}, Deviates},
		{"NaN alone", []Check{nanC}, NotMeasured},
		{"NaN beside a pass", []Check{pass, nanC}, Partial},
		{"too few events", []Check{few}, Partial},
		{"full fails, required passes", []Check{pass, fail.as(Full)}, Partial},
		{"full fails, fallback passes", []Check{fail.as(Full), pass.as(Fallback)}, Partial},
		{"full fails, fallback fails", []Check{fail.as(Full), pass.as(Fallback), fail.as(Fallback)}, Deviates},
		{"full fails alone", []Check{fail.as(Full)}, Deviates},
		{"full passes, fallback fails", []Check{pass.as(Full), fail.as(Fallback)}, Agrees},
		{"full fails, fallback NaN", []Check{fail.as(Full), nanC.as(Fallback)}, Deviates},
		{"a measured number without a decision", []Check{partly}, Partial},
	} {
		if got := (Verdict{Checks: c.checks}).Status(Paper); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if few.Outcome != Uninformative || nanC.Outcome != Uninformative || pass.Outcome != Pass || fail.Outcome != Fail {
		t.Errorf("outcomes: %v %v %v %v", few.Outcome, nanC.Outcome, pass.Outcome, fail.Outcome)
	}
	if z := withinSE(Paper, crit, "z", 10.3, 0.1, 10.25, 5, 1, ""); math.Abs(float64(z.Measured)-0.5) > 1e-9 ||
		z.Outcome != Pass {
		t.Errorf("withinSE: %v %v", z.Measured, z.Outcome)
	}
	if z := withinSE(Paper, crit, "z", 10.3, 0, 10.25, 5, 1, ""); z.Outcome != Uninformative {
		t.Errorf("withinSE without a standard error: %v", z.Outcome)
	}
	v := Verdict{Checks: []Check{pass}}
	if v.Status(Exact) != NotApplicable || v.Status(Approx) != NotMeasured {
		t.Errorf("scopes without checks: %q %q", v.Status(Exact), v.Status(Approx))
	}
	if cs := (Verdict{Checks: []Check{pass, fail, atMost(Paper, critE4Rel, "x", 0, 1, "")}}).Criteria(); len(cs) != 2 ||
		cs[1] != critE4Rel {
		t.Errorf("criteria table: %v", cs)
	}
	if s := (Verdict{Checks: []Check{pass, fail}}).Text(); !strings.Contains(s, "Deviates with the paper") ||
		!strings.Contains(s, "[fail]") {
		t.Errorf("text: %s", s)
	}
}

func e5dim(d int, expo float64, fits map[string]e5Fit) e5Dim {
	return e5Dim{D: d, EtaH: 0.1, Expo: expo, QuadSlope: expo - 1, Fits: fits}
}

func TestVerdictE5(t *testing.T) {
	ok := e5Fit{Slope: 10.3, SlopeSE: 0.1, OK: true, Levels: 5}  // 0.5 SE from 10.25
	far := e5Fit{Slope: 11.0, SlopeSE: 0.1, OK: true, Levels: 5} // 7.5 SE
	dec := e5Fit{Slope: 9.3, SlopeSE: 0.1, OK: true, Levels: 5}
	v := verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok, "decoupled-fine": dec})}, critE5Sigma,
		critChainZ)
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "d = 1"), Pass, 0.5)
	v = verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok}), e5dim(2, 10.25, map[string]e5Fit{"sgd": far})},
		critE5Sigma, critChainZ)
	statuses(t, "deviate", v, Deviates, NotApplicable)
	want(t, chk(t, v, "d = 2"), Fail, 7.5)
	v = verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok}), e5dim(2, 9.75, map[string]e5Fit{"sgd": {}})},
		critE5Sigma, critChainZ)
	statuses(t, "partial", v, Partial, NotApplicable)
	want(t, chk(t, v, "d = 2"), Uninformative, math.NaN())
	v = verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"decoupled-fine": dec})}, critE5Sigma, critChainZ)
	statuses(t, "no sgd", v, NotMeasured, NotApplicable)
	// A degenerate fit (duplicate levels give an infinite standard error) is not a measurement.
	v = verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": {Slope: math.NaN(), SlopeSE: math.Inf(1),
		OK: true, Levels: 3}})}, critE5Sigma, critChainZ)
	statuses(t, "NaN slope", v, NotMeasured, NotApplicable)
	// A slope too uncertain to tell the prediction from zero is not an agreement: 3 x 3.5 > 10.25.
	v = verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": {Slope: 12, SlopeSE: 3.5, OK: true,
		Levels: 3}})}, critE5Sigma, critChainZ)
	statuses(t, "wide slope", v, NotMeasured, NotApplicable)
	want(t, chk(t, v, "d = 1"), Uninformative, math.NaN())
	// Outside the formula's domain: eta h* >= 2, or a non-positive exponent (d >= n_c).
	unstable := e5dim(1, 0.69, map[string]e5Fit{"sgd": {Slope: 0.63, SlopeSE: 0.1, OK: true, Levels: 3}})
	unstable.EtaH = 5
	statuses(t, "eta h* = 5", verdictE5([]e5Dim{unstable}, critE5Sigma, critChainZ), NotMeasured, NotApplicable)
	v = verdictE5([]e5Dim{e5dim(64, -21, map[string]e5Fit{"sgd": {Slope: 1.4, SlopeSE: 0.6, OK: true,
		Levels: 3}})}, critE5Sigma, critChainZ)
	statuses(t, "d >= n_c", v, NotMeasured, NotApplicable)
	if c := chk(t, v, "d = 64"); !strings.Contains(c.Claim, "not positive") {
		t.Errorf("d >= n_c: %q", c.Claim)
	}
	// The exact chain against SGD with replacement, level by level.
	d := e5dim(1, 10.25, map[string]e5Fit{"sgd": ok, "sgd-replacement": {MFPT: []float64{10, 20, 40},
		SE: []float64{1, 2, 4}}})
	d.Chain, d.ChainSE, d.Quad = []float64{10.5, 21, 53}, []float64{0, 0, 0}, []float64{9, 18, 36}
	v = verdictE5([]e5Dim{d}, critE5Sigma, critChainZ)
	statuses(t, "chain", v, Agrees, Deviates)
	want(t, chk(t, v, "exact chain's MFPT"), Fail, 3.25)
	d.Chain[2] = 44
	statuses(t, "chain agrees", verdictE5([]e5Dim{d}, critE5Sigma, critChainZ), Agrees, Agrees)
	d.Fits["sgd-replacement"] = e5Fit{MFPT: []float64{math.NaN(), math.NaN(), math.NaN()},
		SE: []float64{math.NaN(), math.NaN(), math.NaN()}}
	v = verdictE5([]e5Dim{d}, critE5Sigma, critChainZ)
	statuses(t, "chain with too few escapes", v, Agrees, NotMeasured)
	want(t, chk(t, v, "exact chain's MFPT"), Uninformative, math.NaN())
}

// e4numbers makes cells whose phis deviate by the given fractions, each with a standard error
// of 2% of the theory (about 1.4% for the mean over the two batch sizes: resolved against
// the 10% criterion).
func e4numbers(dyns map[string]float64, etas []float64) e4Numbers {
	return e4numbersSE(dyns, etas, 0.02)
}

func e4numbersSE(dyns map[string]float64, etas []float64, se float64) e4Numbers {
	n := e4Numbers{Etas: etas, Batches: []int{4, 8}, HStar: 1, Cells: map[e4Key]e4Cell{}}
	for dn, rel := range dyns {
		for _, eta := range etas {
			for _, b := range n.Batches {
				th := 1 + float64(b)/eta
				n.Cells[e4Key{dn, eta, b}] = e4Cell{Phi: th * (1 + rel), SE: se * th, Theory: th}
			}
		}
	}
	return n
}

func TestVerdictE4(t *testing.T) {
	etas := []float64{0.1, 0.5, 1}
	all := map[string]float64{"sgd": -0.05, "sde": -0.04, "sde-fine": -0.02, "decoupled-fine": 0.01}
	v := verdictE4(e4numbers(all, etas), critE4Rel, critE4Sigma, 0.5)
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "SGD's phi at eta = 0.1"), Pass, 0.05)
	want(t, chk(t, v, "decoupled SDE"), Pass, 0.01/0.02)
	if _, ok := v.Find("SGD's phi at eta = 1"); ok {
		t.Error("eta = 1 is above the largest eta judged")
	}
	// Standard errors of 5% per batch size (3.5% for the mean): 3 of them exceed the 10%
	// criterion, so a 5% deviation is no agreement; a 30% one is still a deviation.
	v = verdictE4(e4numbersSE(all, etas, 0.05), critE4Rel, critE4Sigma, 0.5)
	statuses(t, "unresolved", v, NotMeasured, NotApplicable)
	want(t, chk(t, v, "SGD's phi at eta = 0.1"), Uninformative, math.NaN())
	all["sgd"] = -0.3
	statuses(t, "unresolved deviation", verdictE4(e4numbersSE(all, etas, 0.05), critE4Rel, critE4Sigma, 0.5),
		Deviates, NotApplicable)
	all["sgd"], all["decoupled-fine"] = -0.3, 0.3 // decoupled-fine 15 SE off
	v = verdictE4(e4numbers(all, etas), critE4Rel, critE4Sigma, 0.5)
	statuses(t, "deviate", v, Deviates, NotApplicable)
	want(t, chk(t, v, "SGD's phi at eta = 0.5"), Fail, 0.3)
	want(t, chk(t, v, "decoupled SDE"), Fail, 15)
	statuses(t, "no sgd", verdictE4(e4numbers(map[string]float64{"decoupled-fine": 0}, etas), critE4Rel,
		critE4Sigma, 0.5), NotMeasured, NotApplicable)
	statuses(t, "no small eta", verdictE4(e4numbers(map[string]float64{"sgd": 0}, []float64{1}), critE4Rel,
		critE4Sigma, 0.5), NotMeasured, NotApplicable)
	// NaN phis (a fit that failed) are uninformative, never agreeing.
	n := e4numbers(map[string]float64{"sgd": 0}, etas)
	for k, c := range n.Cells {
		c.Phi = math.NaN()
		n.Cells[k] = c
	}
	statuses(t, "NaN", verdictE4(n, critE4Rel, critE4Sigma, 0.5), NotMeasured, NotApplicable)
}

// The exact chain's checks: its phi against SGD with replacement and phi_eta at every eta.
func TestVerdictE4Exact(t *testing.T) {
	etas := []float64{0.1, 1}
	dyns := map[string]float64{"sgd": -0.30, "sgd-replacement": -0.31, "sde": -0.33, "sde-fine": -0.05,
		"decoupled-fine": 0, "chain": -0.31, "phi_eta": -0.30, "phi_K": -0.5}
	n := e4numbers(dyns, etas)
	for _, b := range n.Batches {
		c := n.Cells[e4Key{"phi_K", 0.1, b}]
		c.Phi = math.NaN()
		n.Cells[e4Key{"phi_K", 0.1, b}] = c
	}
	v := verdictE4(n, critE4Rel, critE4Sigma, 0.5)
	statuses(t, "exact", v, Deviates, Agrees)
	want(t, chk(t, v, "exact chain's phi"), Pass, 0)
	want(t, chk(t, v, "phi_eta against sgd-replacement at eta = 1"), Pass, math.Abs(0.69/0.70-1))
	if !strings.Contains(v.Text(), "the non-Gaussian batch noise +2%") || !strings.Contains(v.Text(),
		"not measured at eta = 0.1") {
		t.Errorf("remarks: %s", v.Text())
	}
	dyns["chain"] = 0.2 // 0.51 of theory apart at 0.02 theory each: about 18 standard errors
	v = verdictE4(e4numbers(dyns, etas), critE4Rel, critE4Sigma, 0.5)
	statuses(t, "chain off", v, Deviates, Deviates)
	c := chk(t, v, "exact chain's phi")
	if c.Outcome != Fail || float64(c.Measured) < 6 {
		t.Errorf("chain off: %v %v", c.Outcome, c.Measured)
	}
	dyns["chain"], dyns["phi_eta"] = -0.31, 0.5
	v = verdictE4(e4numbers(dyns, etas), critE4Rel, critE4Sigma, 0.5)
	want(t, chk(t, v, "phi_eta against sgd-replacement at eta = 0.1"), Fail, math.Abs(0.69/1.5-1))
}

func track(slope, lrange, rmin, rmax float64, mse bool, fitted int) *noiseTrack {
	return &noiseTrack{Slope: slope, SlopeSE: 0.02, LRange: lrange, RatioMin: rmin, RatioMax: rmax, MSE: mse, K: 10,
		Fitted: fitted, SlopeJ: 1, SlopeJSE: 0.01, JacGrowth: 1.1}
}

func TestVerdictNoise(t *testing.T) {
	cr := func(tr *noiseTrack) Verdict { return verdictNoise(tr, critNoiseSlope, critNoiseRange, critNoiseRatio) }
	v := cr(track(0.97, 40, 0.9, 1.1, true, 30))
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "slope"), Pass, 0.03)
	want(t, chk(t, v, "decoupled trace"), Pass, 0.1)
	v = cr(track(0.5, 40, 0.9, 1.1, true, 30))
	statuses(t, "deviate", v, Deviates, NotApplicable)
	want(t, chk(t, v, "slope"), Fail, 0.5)
	v = cr(track(0.34, 2.4, 1.5, 1.6, true, 30))
	statuses(t, "short range", v, Partial, NotApplicable)
	want(t, chk(t, v, "slope"), Uninformative, 0.66)
	want(t, chk(t, v, "decoupled trace"), Fail, 0.6)
	v = cr(track(1.0, 20, math.Inf(1), math.Inf(-1), false, 30))
	statuses(t, "ce", v, Agrees, NotApplicable)
	if _, ok := v.Find("decoupled trace"); ok {
		t.Error("no decoupled trace for cross-entropy")
	}
	statuses(t, "too few", cr(track(math.NaN(), 1, 1, 1, true, 2)), NotMeasured, NotApplicable)
	v = cr(track(1.0, 20, math.NaN(), math.NaN(), true, 30))
	want(t, chk(t, v, "decoupled trace"), Uninformative, math.NaN())
}

func e1pts(cos, hist []float64) []e1Point {
	var out []e1Point
	for i := range cos {
		out = append(out, e1Point{Epoch: 50 * i, Spectra: noise.Spectra{Cosine: num.Float(cos[i]),
			HistAgree: hist[i], TopRatio: 1}, Sigma: noise.Agreement{Cosine: num.Float(cos[i]), TraceRatio: 1}})
	}
	return out
}

func TestVerdictE1(t *testing.T) {
	v := verdictE1(e1pts([]float64{0.99, 0.98}, []float64{0.95, 0.9}), critE1Cosine, critE1Hist)
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "cosine at epoch 50"), Pass, 0.98)
	v = verdictE1(e1pts([]float64{0.99, 0.98}, []float64{0.95, 0.6}), critE1Cosine, critE1Hist)
	statuses(t, "partial", v, Partial, NotApplicable)
	want(t, chk(t, v, "histogram overlap at epoch 50"), Fail, 0.6)
	v = verdictE1(e1pts([]float64{0.99, 0.9}, []float64{0.95, 0.9}), critE1Cosine, critE1Hist)
	statuses(t, "deviate", v, Deviates, NotApplicable)
	want(t, chk(t, v, "cosine at epoch 50"), Fail, 0.9)
	statuses(t, "none", verdictE1(nil, critE1Cosine, critE1Hist), NotMeasured, NotApplicable)
	// A NaN checkpoint is not agreement: the check is uninformative and the status partial.
	v = verdictE1(e1pts([]float64{0.99, math.NaN()}, []float64{0.95, 0.9}), critE1Cosine, critE1Hist)
	statuses(t, "NaN checkpoint", v, Partial, NotApplicable)
	want(t, chk(t, v, "cosine at epoch 50"), Uninformative, math.NaN())
	want(t, chk(t, v, "histogram overlap at epoch 50"), Uninformative, math.NaN())
}

func TestVerdictX1(t *testing.T) {
	good := x1Comparison{Dyn: "sgd", Points: 6, PowP: 0.5, PowFitP: 0.6, ArrP: 0, ArrFitP: 0, FroP: 0, FroFitP: 0,
		Slope: -5.2, SlopeSE: 0.06, Expo: 5.25}
	v := verdictX1([]string{"sgd"}, []x1Comparison{good}, critX1P)
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "parameter-free power law"), Pass, 0.5)
	want(t, chk(t, v, "Arrhenius shape rejected"), Pass, 0)
	shape := good
	shape.PowP = 0.001
	v = verdictX1([]string{"sgd"}, []x1Comparison{shape}, critX1P)
	statuses(t, "partial", v, Partial, NotApplicable)
	want(t, chk(t, v, "parameter-free power law"), Fail, 0.001)
	bad := shape
	bad.PowFitP, bad.ArrFitP = 0, 0.3
	v = verdictX1([]string{"sgd"}, []x1Comparison{bad}, critX1P)
	statuses(t, "deviate", v, Deviates, NotApplicable)
	want(t, chk(t, v, "Arrhenius shape rejected"), Fail, 0.3)
	out := good
	out.EtaH = 2.5
	statuses(t, "eta h* = 2.5", verdictX1([]string{"sgd"}, []x1Comparison{out}, critX1P), NotMeasured,
		NotApplicable)
	statuses(t, "no sgd", verdictX1([]string{"decoupled-fine"}, nil, critX1P), NotMeasured, NotApplicable)
	statuses(t, "too few", verdictX1([]string{"sgd", "decoupled-fine"}, nil, critX1P), NotMeasured, NotApplicable)
	nanP := good
	nanP.PowP, nanP.PowFitP = math.NaN(), math.NaN()
	statuses(t, "NaN p-values", verdictX1([]string{"sgd"}, []x1Comparison{nanP}, critX1P), NotMeasured,
		NotApplicable)
}

func rate(kappa, lo, hi float64, esc int) escape.LevelRate {
	return escape.LevelRate{
		Rate: stats.Rate{Runs: 100, Escaped: esc, Kappa: kappa, Lo: lo, Hi: hi, MFPT: num.Float(1 / kappa)},
	}
}

func TestVerdictX2(t *testing.T) {
	pt := func(r escape.LevelRate) x2Point {
		return x2Point{Sigma: 0.7, Power: 0.01, Arrh: 0.03, NoiseRatio: 0,
			Rates: map[string]escape.LevelRate{"sgd": r, "decoupled-fine": rate(0.1, 0.09, 0.11, 90)}}
	}
	v := verdictX2([]string{"sgd"}, []x2Point{pt(rate(0.012, 0.009, 0.015, 40))}, critX2Factor)
	statuses(t, "agree", v, Agrees, NotApplicable)
	want(t, chk(t, v, "SGD's rate"), Pass, 1.2)
	v = verdictX2([]string{"sgd", "decoupled-fine"}, []x2Point{pt(rate(0.0001, 0, 0.002, 12))}, critX2Factor)
	statuses(t, "too slow", v, Deviates, NotApplicable)
	if !strings.Contains(v.Text(), "decoupled-fine: rate 0.1") {
		t.Errorf("remarks: %s", v.Text())
	}
	// No escape at all, but the exact interval's upper end lies below the band: a deviation.
	v = verdictX2([]string{"sgd"}, []x2Point{pt(rate(0, 0, 0.003, 0))}, critX2Factor)
	statuses(t, "none escaped, bounded below the band", v, Deviates, NotApplicable)
	statuses(t, "too fast", verdictX2([]string{"sgd"}, []x2Point{pt(rate(0.1, 0.08, 0.12, 80))}, critX2Factor),
		Deviates, NotApplicable)
	statuses(t, "no sgd", verdictX2([]string{"decoupled-fine"}, []x2Point{pt(rate(1, 1, 1, 1))}, critX2Factor),
		NotMeasured, NotApplicable)
	// Two escapes: the interval is so wide it would reach any band; the check is uninformative.
	v = verdictX2([]string{"sgd"}, []x2Point{pt(rate(0.01, 0.0012, 0.036, 2))}, critX2Factor)
	statuses(t, "two escapes", v, Partial, NotApplicable)
	want(t, chk(t, v, "SGD's rate"), Uninformative, 1)
	// The exact chain: inside SGD with replacement's interval, outside it, too few escapes,
	// and a chain whose box leaks (a bound, not a prediction).
	p := pt(rate(0.012, 0.009, 0.015, 40))
	p.Rates["sgd-replacement"] = rate(0.012, 0.009, 0.015, 40)
	p.Chain = &chain.Result{MFPT: 80} // 0.0125: inside
	v = verdictX2([]string{"sgd", "sgd-replacement"}, []x2Point{p}, critX2Factor)
	chainChecksX2([]x2Point{p}, &v)
	statuses(t, "chain inside", v, Agrees, Agrees)
	want(t, chk(t, v, "exact chain's rate at sigma = 0.7"), Pass, 0.0125)
	p.Chain = &chain.Result{MFPT: 20} // 0.05: outside
	v = Verdict{}
	chainChecksX2([]x2Point{p}, &v)
	statuses(t, "chain outside", v, NotMeasured, Deviates)
	p.Chain = &chain.Result{MFPT: 80, LeaveBox: 0.1}
	v = Verdict{}
	chainChecksX2([]x2Point{p}, &v)
	statuses(t, "chain leaks", v, NotMeasured, Partial)
	p.Chain, p.Rates["sgd-replacement"] = &chain.Result{MFPT: 80}, rate(0.012, 0.002, 0.05, 3)
	v = Verdict{}
	chainChecksX2([]x2Point{p}, &v)
	want(t, chk(t, v, "exact chain's rate at sigma = 0.7"), Uninformative, 0.0125)
	p.Chain = &chain.Result{MFPT: 10} // 0.1: outside even the wide interval of 3 escapes
	v = Verdict{}
	chainChecksX2([]x2Point{p}, &v)
	want(t, chk(t, v, "exact chain's rate at sigma = 0.7"), Fail, 0.1)
	// A chain the solver refused is not measured, with the reason; SGD's check still stands.
	p.Chain, p.ChainWhy = nil, "the grid cannot resolve SGD's steps"
	v = verdictX2([]string{"sgd", "sgd-replacement"}, []x2Point{p}, critX2Factor)
	chainChecksX2([]x2Point{p}, &v)
	statuses(t, "chain refused", v, Agrees, NotMeasured)
	if c := chk(t, v, "exact chain's rate at sigma = 0.7"); !strings.Contains(c.Claim, "cannot resolve") {
		t.Errorf("refused chain: %q", c.Claim)
	}
	// A power law that underflows to 0 makes the ratio +Inf: not a measurement, and reported
	// as not measured (an infinity failed the output's check).
	under := pt(rate(0.012, 0.009, 0.015, 40))
	under.Power = 0
	v = verdictX2([]string{"sgd"}, []x2Point{under}, critX2Factor)
	want(t, chk(t, v, "SGD's rate"), Uninformative, math.NaN())
	if err := num.Check(v.Checks); err != nil {
		t.Error(err)
	}
	// eta h* >= 2: outside the power law's domain, whatever the rate.
	p.Eta, p.TB.HStar = 5, 1
	v = verdictX2([]string{"sgd"}, []x2Point{p}, critX2Factor)
	statuses(t, "eta h* = 5", v, NotMeasured, NotApplicable)
	want(t, chk(t, v, "SGD's rate"), Uninformative, math.NaN())
}

// A refused exact chain leaves E5's and E4's exact scope not measured, with the reason.
func TestRefusedChains(t *testing.T) {
	d := e5dim(1, 10.25, map[string]e5Fit{"sgd": {Slope: 10.3, SlopeSE: 0.1, OK: true, Levels: 5}})
	d.ChainWhy = "an escape too rare for double precision"
	v := verdictE5([]e5Dim{d}, critE5Sigma, critChainZ)
	statuses(t, "E5", v, Agrees, NotMeasured)
	want(t, chk(t, v, "exact chain's MFPT"), Uninformative, math.NaN())
	n := e4numbers(map[string]float64{"sgd": -0.05, "sgd-replacement": -0.05}, []float64{0.1})
	n.Refused = []string{"the grid cannot resolve SGD's steps"}
	v = verdictE4(n, critE4Rel, critE4Sigma, 0.5)
	statuses(t, "E4", v, Agrees, NotMeasured)
	want(t, chk(t, v, "exact chain's phi"), Uninformative, math.NaN())
}

// x3pt is a configuration with SGD's occupation ratio (escapes each way, log standard error)
// and the power law's prediction.
func x3pt(sweep string, ha, hb float64, na, nb int, ratio, se, power float64, esc int) *x3Point {
	r := &study.BothRecord{RatioRates: num.Float(ratio), LogRatioSE: num.Float(se)}
	r.RatesAB.Escaped, r.RatesBA.Escaped = esc, esc
	return &x3Point{Sweep: sweep, HA: ha, HB: hb, NA: na, NB: nb, Power: power, ChainAB: math.NaN(),
		ChainBA: math.NaN(), Quad: math.NaN(), Recs: map[string]*study.BothRecord{"sgd": r}}
}

func TestVerdictX3(t *testing.T) {
	run := func(pts ...*x3Point) Verdict { return verdictX3(pts, critX3P, critX3Trend, critChainZ) }
	// The power law fits: ratios at the prediction within their errors.
	fit := []*x3Point{x3pt("sharpness", 1, 1, 1, 1, 1, 0.1, 1, 100), x3pt("sharpness", 2, 1, 1, 1, 0.5, 0.1, 0.5,
		100), x3pt("sharpness", 4, 1, 1, 1, 0.26, 0.1, 0.25, 100)}
	v := run(fit...)
	statuses(t, "fits", v, Agrees, NotApplicable)
	c := chk(t, v, "power law for SGD's occupation ratios")
	if c.Outcome != Pass || c.N != 3 || !(float64(c.Measured) > 0.9) {
		t.Errorf("fits: %v %v %v", c.Outcome, c.N, c.Measured)
	}
	// A configuration with eta h* >= 2 at its sharper minimum is outside the formula's domain.
	sharp := x3pt("sharpness", 4, 1, 1, 1, 0.26, 0.1, 0.25, 100)
	sharp.Cfg.Eta = 0.6
	if c := chk(t, run(fit[0], fit[1], sharp), "power law for SGD's occupation ratios"); c.N != 2 {
		t.Errorf("eta h* = 2.4 judged: %d configurations", c.N)
	}
	// The size is off by a factor e^1 everywhere but the direction is right: partial.
	moved := []*x3Point{x3pt("sharpness", 1, 1, 1, 1, 2.7, 0.1, 1, 100), x3pt("sharpness", 2, 1, 1, 1, 1.3, 0.1,
		0.5, 100), x3pt("sharpness", 4, 1, 1, 1, 0.7, 0.1, 0.25, 100)}
	v = run(moved...)
	statuses(t, "moves the right way", v, Partial, NotApplicable)
	tr := chk(t, v, "sharpness sweep")
	if tr.Outcome != Pass || !(float64(tr.Measured) > 2) {
		t.Errorf("trend: %v %v", tr.Outcome, tr.Measured)
	}
	// The preference goes the other way: deviates.
	wrong := []*x3Point{x3pt("sharpness", 1, 1, 1, 1, 0.5, 0.1, 1, 100), x3pt("sharpness", 2, 1, 1, 1, 1, 0.1, 0.5,
		100), x3pt("sharpness", 4, 1, 1, 1, 2, 0.1, 0.25, 100)}
	v = run(wrong...)
	statuses(t, "wrong way", v, Deviates, NotApplicable)
	// Slope +1 per unit log(h_A/h_B) with standard error 0.1/(sqrt(2) log 2), predicted -1.
	want(t, chk(t, v, "sharpness sweep"), Fail, -math.Log(2)*math.Sqrt(2)/0.1)
	// Too few escapes: nothing is judged.
	statuses(t, "too few", run(x3pt("sharpness", 1, 1, 1, 1, 1, 0.1, 1, 3), x3pt("sharpness", 2, 1, 1, 1, 0.5,
		0.1, 0.5, 3)), NotMeasured, NotApplicable)
	// The exact chain's ratio against SGD's.
	fit[0].ChainAB, fit[0].ChainBA = 1.05, 1 // log 1.05 = 0.49 SE from log 1
	v = run(fit...)
	statuses(t, "chain", v, Agrees, Agrees)
	want(t, chk(t, v, "exact chain's p_A/p_B"), Pass, math.Log(1.05)/0.1)
}

// Parameters are validated before any work: every class of bad value is an error of class
// ErrInvalid naming the experiment.
func TestParamsValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	for _, c := range []struct {
		id, body, want string
	}{
		{"E5", `{"runs": 0}`, "runs = 0"},
		{"E5", `{"eta": -1}`, "eta = -1"},
		{"E5", `{"levels": [1.2, 1.4]}`, "three thresholds"},
		{"E5", `{"levels": [1.2, 1.2, 1.2]}`, "levels must increase"},
		{"E5", `{"dynamics": ["sgd", "nonsense"]}`, "unknown dynamics"},
		{"E4", `{"samples": 3}`, "samples = 3"},
		{"E1", `{"epochs": [50, 0]}`, "must increase"},
		{"E2", `{"epochs": 2}`, "epochs = 2"},
		{"X1", `{"ratios": [0.5, 2, 3]}`, "ratio 0.5"},
		{"X2", `{"well_radius": 1.5}`, "well_radius"},
		{"E5", `{"runs": 10`, "unexpected EOF"},
		{"E5", `{"rnus": 10}`, "unknown field"},
		{"E5", `{"runs": 10} {}`, "more than one JSON value"},
		{"E5", `{"runs": 10, "runs": 20}`, `"runs" appears twice`},
		{"E5", `{"runs": null}`, "runs is null"},
		{"E5", `{"levels": [1.2, null, 2]}`, "levels.1 is null"},
	} {
		exps, _ := Find([]string{c.id})
		_, err := LoadParams(exps[0], false, write(c.id+".json", c.body))
		if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), c.id) {
			t.Errorf("%s %s: %v, want %q", c.id, c.body, err, c.want)
		}
	}
	exps, _ := Find([]string{"E5"})
	if _, err := LoadParams(exps[0], false, filepath.Join(dir, "missing.json")); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("a missing parameter file: %v", err)
	}
	if _, err := Plan(exps, false, filepath.Join(dir, "nowhere")); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("a missing parameter path: %v", err)
	}
	for _, e := range All() {
		for _, full := range []bool{false, true} {
			if err := e.Defaults(full).Validate(); err != nil {
				t.Errorf("%s defaults (full %v) invalid: %v", e.ID, full, err)
			}
		}
	}
	if got, _ := Find([]string{"E5", "e5", "E1"}); len(got) != 2 || got[0].ID != "E1" {
		t.Errorf("Find must return each experiment once in report order: %v", got)
	}
}

// FuzzParams: any parameter file is either accepted with valid values or refused with a
// one-line error of class ErrInvalid.
func FuzzParams(f *testing.F) {
	for _, s := range []string{`{"runs": 10}`, `{"eta": -1}`, `{"levels": [1.5, 2, 1e308]}`, `{"dims": [0]}`, `{`,
		`[]`, `null`, `{"runs": 1e99}`, `{"ratios": [2, 3, "x"]}`, `{"sigmas": [NaN]}`} {
		f.Add("E5", s)
		f.Add("X1", s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, id, body string) {
		exps, err := Find([]string{id})
		if err != nil {
			return
		}
		p := filepath.Join(dir, "p.json")
		os.WriteFile(p, []byte(body), 0o644)
		params, err := LoadParams(exps[0], false, p)
		if err != nil {
			if !errors.Is(err, fault.ErrInvalid) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if err := params.Validate(); err != nil {
			t.Fatalf("accepted parameters fail validation: %v", err)
		}
	})
}

// A budget is at least one step and at most the cap, which also stands in for a prediction
// without a finite time; zero would mean the escape study's own default.
func TestStepBudget(t *testing.T) {
	for _, c := range []struct {
		b    float64
		want int64
	}{{1e-300, 1}, {0, 1}, {2.7, 2}, {1e9, 1000}, {math.NaN(), 1000}, {math.Inf(1), 1000}} {
		if got := stepBudget(c.b, 1000); got != c.want {
			t.Errorf("stepBudget(%v, 1000) = %d, want %d", c.b, got, c.want)
		}
	}
}
