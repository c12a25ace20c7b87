package experiment

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/escape"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/stats"
)

// expect checks a verdict's status and that its text contains every fragment and none of
// the forbidden ones.
func expect(t *testing.T, name string, v Verdict, st Status, has []string, hasNot ...string) {
	t.Helper()
	if v.Status != st {
		t.Errorf("%s: status %q, want %q (%s)", name, v.Status, st, v.Text())
	}
	for _, h := range has {
		if !strings.Contains(v.Text(), h) {
			t.Errorf("%s: verdict lacks %q: %s", name, h, v.Text())
		}
	}
	for _, h := range hasNot {
		if strings.Contains(v.Text(), h) {
			t.Errorf("%s: verdict must not say %q: %s", name, h, v.Text())
		}
	}
}

func TestWorst(t *testing.T) {
	for _, c := range []struct {
		in   []Status
		want Status
	}{
		{nil, NotMeasured}, {[]Status{Agrees, Agrees}, Agrees}, {[]Status{Agrees, Deviates}, Deviates},
		{[]Status{Agrees, NotMeasured}, Partial}, {[]Status{NotMeasured, NotMeasured}, NotMeasured},
		{[]Status{Partial, Agrees}, Partial}, {[]Status{Failed, Agrees}, Failed}, {[]Status{NotMeasured, Deviates},
			Deviates},
	} {
		if got := worst(c.in...); got != c.want {
			t.Errorf("worst(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if Agrees.Tone() != "ok" || Deviates.Tone() != "bad" || Failed.Tone() != "bad" || NotMeasured.Tone() != "mid" ||
		Partial.Tone() != "mid" {
		t.Error("tones")
	}
}

func e5dim(d int, expo float64, fits map[string]e5Fit) e5Dim {
	return e5Dim{D: d, Expo: expo, QuadSlope: expo - 1, Fits: fits}
}

func TestVerdictE5(t *testing.T) {
	ok := e5Fit{Slope: 10.3, SlopeSE: 0.1, OK: true}  // 0.5 SE from 10.25
	far := e5Fit{Slope: 11.0, SlopeSE: 0.1, OK: true} // 7.5 SE
	dec := e5Fit{Slope: 9.3, SlopeSE: 0.1, OK: true}
	expect(t, "agree", verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok, "decoupled-fine": dec})}, 3),
		Agrees, []string{"Agrees", "d = 1: SGD slope 10.30", "The decoupled SDE " +
			"(decoupled-fine) has slope 9.30"})
	expect(t, "deviate", verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok}), e5dim(2, 10.25,
		map[string]e5Fit{"sgd": far})}, 3), Deviates, []string{"Deviates", "at d = 2", "7.5 standard errors"}, "Agrees")
	expect(t, "partial", verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": ok}), e5dim(2, 9.75,
		map[string]e5Fit{"sgd": {}})}, 3), Partial, []string{"Partly measured", "at d = 2 it was not measured"})
	expect(t, "no sgd", verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"decoupled-fine": dec})}, 3), NotMeasured,
		[]string{"Not measured", "SGD is not among the dynamics"}, "Agrees", "slopes match")
	expect(t, "sgd fit failed", verdictE5([]e5Dim{e5dim(1, 10.25, map[string]e5Fit{"sgd": {}})}, 3), NotMeasured,
		[]string{"no slope was fitted"}, "Agrees")
}

func e4numbers(dyns map[string]float64, etas []float64) e4Numbers {
	n := e4Numbers{Etas: etas, Batches: []int{4, 8}, HStar: 1, Cells: map[e4Key]e4Cell{}}
	for dn, rel := range dyns {
		for _, eta := range etas {
			for _, b := range n.Batches {
				th := 1 + float64(b)/eta
				n.Cells[e4Key{dn, eta, b}] = e4Cell{Phi: th * (1 + rel), SE: 0.05 * th, Theory: th}
			}
		}
	}
	return n
}

func TestVerdictE4(t *testing.T) {
	etas := []float64{0.1, 0.5, 1}
	all := map[string]float64{"sgd": -0.05, "sde": -0.04, "sde-fine": -0.02, "decoupled-fine": 0.01}
	expect(t, "agree", verdictE4(e4numbers(all, etas), 0.1, 0.5, 3), Agrees, []string{"Agrees", "within 10%",
		"reproduces 1 + B/(eta h*) in " +
			"all 6 configurations", "At eta = 1 SGD's deviation splits"})
	all["sgd"], all["decoupled-fine"] = -0.3, 0.3 // decoupled-fine 6 SE off
	expect(t, "deviate", verdictE4(e4numbers(all, etas), 0.1, 0.5, 3), Deviates, []string{"Deviates",
		"-30% at eta = 0.1", "deviates from 1 + B/(eta h*) " +
			"by up to 6.0 standard errors"}, "reproduces 1 + B")
	expect(t, "no sgd", verdictE4(e4numbers(map[string]float64{"decoupled-fine": 0}, etas), 0.1, 0.5, 3), NotMeasured,
		[]string{"SGD is not among the dynamics"}, "Agrees")
	expect(t, "no small eta", verdictE4(e4numbers(map[string]float64{"sgd": 0}, []float64{1}), 0.1, 0.5, 3),
		NotMeasured, []string{"no learning rate at or below " +
			"0.5"})
	v := verdictE4(e4numbers(map[string]float64{"sgd": 0.01}, etas), 0.1, 0.5, 3)
	expect(t, "sgd only", v, Agrees, []string{"Agrees"}, "decoupled SDE", "splits")
}

// The exact chain's claims: agreement with SGD with replacement, the gap split, phi_eta
// accounting for the deviation, Kesten's exponent (with a missing value), epoch against
// replacement.
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
	expect(t, "exact", verdictE4(n, 0.1, 0.5, 3), Deviates, []string{"The exact chain's phi matches SGD with " +
		"replacement in all 4 configurations", "the non-Gaussian batch noise +2%", "the Gaussian finite step -28%",
		"accounts for sgd-replacement's phi where 1 + B/(eta h*) does not", "not measured at eta = 0.1",
		"-28% at eta = 1", "Epoch against replacement"})
	dyns["chain"] = 0.2 // 0.51 of theory apart at 0.05 theory each: about 7 standard errors
	expect(t, "chain off", verdictE4(e4numbers(dyns, etas), 0.1, 0.5, 3), Deviates, []string{"differs from SGD " +
		"with replacement by up to"}, "matches SGD")
	dyns["phi_eta"] = 0.5
	expect(t, "phi_eta off", verdictE4(e4numbers(dyns, etas), 0.1, 0.5, 3), Deviates, []string{"phi_eta does " +
		"not account"}, "accounts for sgd-replacement's")
}

func track(slope, lrange, rmin, rmax float64, mse bool, fitted int) *noiseTrack {
	return &noiseTrack{Slope: slope, SlopeSE: 0.02, LRange: lrange, RatioMin: rmin, RatioMax: rmax, MSE: mse, K: 10,
		Fitted: fitted, SlopeJ: 1, SlopeJSE: 0.01, JacGrowth: 1.1}
}

func TestVerdictNoise(t *testing.T) {
	expect(t, "agree", verdictNoise(track(0.97, 40, 0.9, 1.1, true, 30), 0.15, 10, 0.25), Agrees,
		[]string{"Agrees", "factor 40", "matches Noise within 25%"})
	expect(t, "deviate", verdictNoise(track(0.5, 40, 0.9, 1.1, true, 30), 0.15, 10, 0.25), Deviates,
		[]string{"Deviates", "0.500"})
	expect(t, "short range", verdictNoise(track(0.34, 2.4, 1.5, 1.6, true, 30), 0.15, 10, 0.25), Partial,
		[]string{"Inconclusive range", "factor 2.4", "differs from the decoupled trace"}, "matches Noise")
	expect(t, "ce", verdictNoise(track(1.0, 20, math.Inf(1), math.Inf(-1), false, 30), 0.15, 10, 0.25), Agrees,
		[]string{"Agrees"}, "decoupled trace")
	expect(t, "too few", verdictNoise(track(math.NaN(), 1, 1, 1, true, 2), 0.15, 10, 0.25), NotMeasured,
		[]string{"fewer than three epochs"})
}

func e1pts(cos, hist []float64) []e1Point {
	var out []e1Point
	for i := range cos {
		out = append(out, e1Point{Epoch: 50 * i, Spectra: noise.Spectra{Cosine: cos[i], HistAgree: hist[i],
			TopRatio: 1}, Sigma: noise.Agreement{Cosine: cos[i], TraceRatio: 1}})
	}
	return out
}

func TestVerdictE1(t *testing.T) {
	expect(t, "agree", verdictE1(e1pts([]float64{0.99, 0.98}, []float64{0.95, 0.9}), 0.95, 0.8), Agrees,
		[]string{"Agrees", ">= 0.980"})
	expect(t, "partial", verdictE1(e1pts([]float64{0.99, 0.98}, []float64{0.95, 0.6}), 0.95, 0.8), Partial,
		[]string{"Partly", "overlap only 0.60 at epoch 50"})
	expect(t, "deviate", verdictE1(e1pts([]float64{0.99, 0.9}, []float64{0.95, 0.9}), 0.95, 0.8), Deviates,
		[]string{"falls to 0.900 at epoch 50"})
	expect(t, "none", verdictE1(nil, 0.95, 0.8), NotMeasured, []string{"no checkpoint"})
}

func TestVerdictX1(t *testing.T) {
	good := x1Comparison{Dyn: "sgd", Points: 6, PowP: 0.5, PowFitP: 0.6, ArrP: 0, ArrFitP: 0, FroP: 0, FroFitP: 0,
		Slope: -5.2, SlopeSE: 0.06, Expo: 5.25}
	expect(t, "agree", verdictX1([]string{"sgd"}, []x1Comparison{good}, 0.01), Agrees, []string{"Agrees",
		"fits without free parameters: power law (p = 0.5)", "rejected without free " +
			"parameters: Arrhenius (p = 0), frozen noise (p = 0)"})
	shape := good
	shape.PowP = 0
	expect(t, "partial", verdictX1([]string{"sgd"}, []x1Comparison{shape}, 0.01), Partial, []string{"Partly",
		"rejected without free " +
			"parameters: power law (p = 0)"})
	bad := shape
	bad.PowFitP, bad.ArrP = 0, 0.3
	expect(t, "deviate", verdictX1([]string{"sgd"}, []x1Comparison{bad}, 0.01), Deviates, []string{"Deviates",
		"fits without free parameters: " +
			"Arrhenius (p = 0.3)"}, "Arrhenius (p = 0.3) ... rejected")
	expect(t, "no sgd", verdictX1([]string{"decoupled-fine"}, nil, 0.01), NotMeasured, []string{"SGD is not among"})
	expect(t, "too few", verdictX1([]string{"sgd", "decoupled-fine"}, nil, 0.01), NotMeasured,
		[]string{"fewer than three " +
			"configurations"})
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
	expect(t, "agree", verdictX2([]string{"sgd"}, []x2Point{pt(rate(0.012, 0.009, 0.015, 40))}, 2), Agrees,
		[]string{"Agrees", "1.2 times the power law"})
	expect(t, "too slow", verdictX2([]string{"sgd", "decoupled-fine"}, []x2Point{pt(rate(0.0001, 0, 0.002, 0))}, 2),
		Deviates, []string{"Deviates", "0 of 100 runs escaped", "decoupled-fine: rate 0.1",
			"noise at the saddle is 0 times"})
	expect(t, "too fast", verdictX2([]string{"sgd"}, []x2Point{pt(rate(0.1, 0.08, 0.12, 80))}, 2), Deviates,
		[]string{"Deviates"})
	expect(t, "no sgd", verdictX2([]string{"decoupled-fine"}, []x2Point{pt(rate(1, 1, 1, 1))}, 2), NotMeasured,
		[]string{"SGD is not among"})
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
		{"E5", `{"dynamics": ["sgd", "nonsense"]}`, "unknown dynamics"},
		{"E4", `{"samples": 3}`, "samples = 3"},
		{"E1", `{"epochs": [50, 0]}`, "must increase"},
		{"E2", `{"epochs": 2}`, "epochs = 2"},
		{"X1", `{"ratios": [0.5, 2, 3]}`, "ratio 0.5"},
		{"X2", `{"well_radius": 1.5}`, "well_radius"},
		{"E5", `{"runs": 10`, "unexpected EOF"},
		{"E5", `{"rnus": 10}`, "unknown field"},
		{"E5", `{"runs": 10} {}`, "more than one JSON value"},
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
