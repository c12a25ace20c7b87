package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/chain"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/theory"
)

type theoryCmd struct {
	Eta      float64 `help:"Learning rate eta." required:""`
	Batch    int     `help:"Batch size B." required:""`
	HStar    float64 `help:"Typical outlier eigenvalue h* of the Hessian at the minimum." required:"" name:"hstar"`
	N        int     `help:"Number n of outlier directions." default:"1"`
	LMin     float64 `help:"L(theta*), the loss at the minimum." name:"lmin" default:"0"`
	LSaddle  float64 `help:"L(theta^s), the loss at the saddle (or the escape level c L*)." name:"lsaddle" default:"0"`
	HSaddle  float64 `help:"${theory_hsaddle}" name:"hsaddle" default:"0"`
	DetRatio float64 `help:"${theory_detratio}" name:"detratio" default:"0"`
	// The exact chain for linear regression on the Gaussian population x ~ N(0, h* I_n).
	KestenSamples int    `help:"${theory_kestensamples}" name:"kesten-samples" default:"1000000"`
	Seed          uint64 `help:"Seed of the Monte Carlo estimate of Kesten's alpha (n > 1)." default:"1"`
}

type theoryRecord struct {
	Command   string  `json:"command"`
	Phi       float64 `json:"phi"`
	NCritical float64 `json:"n_critical"`
	// Stable is the minimum's stability: n < n_c (the SDE's criterion), eta h* < 2 (a
	// full-batch step does not overshoot) and no evidence that the exact chain expands on
	// average; StableWhy says which criterion decided.
	Stable     bool   `json:"stable"`
	StableWhy  string `json:"stable_reason"`
	StepStable bool   `json:"step_stable"`
	// ChainStable: the exact chain of SGD with replacement on x ~ N(0, h* I_n) contracts on
	// average (its Lyapunov exponent is negative), so that it has a stationary law.
	ChainStable bool    `json:"chain_stable"`
	Exponent    float64 `json:"escape_exponent"`
	Reduced     float64 `json:"reduced_barrier,omitempty"`
	DeltaLogL   float64 `json:"delta_log_L,omitempty"`
	// The rates per unit t and the mean first-passage times, with their base-10 logarithms:
	// a rate below the smallest float64 is null, its logarithm is still given.
	Rates      map[string]num.Float `json:"rate,omitempty"`
	Log10Rates map[string]num.Float `json:"log10_rate,omitempty" check:"inf"` // -Inf (null) beyond range
	MFPT       map[string]num.Float `json:"mfpt_t,omitempty"`
	MFPTSteps  map[string]num.Float `json:"mfpt_steps,omitempty"`
	PhiEta     num.Float            `json:"phi_eta"`
	Alpha      num.Float            `json:"kesten_alpha"`
	AlphaSE    num.Float            `json:"kesten_alpha_se"`
	PhiK       num.Float            `json:"phi_kesten"`
	KestenNote string               `json:"kesten_note,omitempty"`
	// SubStep lists the rates whose mean first-passage time is shorter than one SGD step:
	// outside the validity of formulas that assume escapes much slower than a step.
	SubStep []string `json:"mfpt_below_one_step,omitempty"`
	// RatesNote says, for an unstable minimum, why the escape formulas (which assume escape
	// from a stable minimum) do not describe it.
	RatesNote   string            `json:"rates_note,omitempty"`
	Conventions map[string]string `json:"conventions"`
}

// rateNames are the escape predictions, in the order printed.
var rateNames = []struct{ key, label string }{{"power_law", "power law"},
	{"arrhenius", "Arrhenius exp(-2B dL/(eta h*))"}, {"frozen_noise", "frozen noise exp(-B dL/(eta h* L*))"}}

func (c *theoryCmd) Run(e *env) error {
	if err := firstErr(finite("--eta", c.Eta, 0, false), intRange("--batch", int64(c.Batch), 1, math.MaxInt32),
		finite("--hstar", c.HStar, 0, false), intRange("--n", int64(c.N), 1, 1<<20), finite("--lmin", c.LMin, 0, true),
		finite("--lsaddle", c.LSaddle, 0, true), finite("--hsaddle", c.HSaddle, 0, true), finite("--detratio",
			c.DetRatio, 0, true), intRange("--kesten-samples", int64(c.KestenSamples), 1000, 1<<30)); err != nil {
		return err
	}
	if r := float64(c.Batch) / (c.Eta * c.HStar); math.IsInf(r, 0) || r == 0 || math.IsInf(c.Eta*c.HStar, 0) {
		return fault.Invalid("--eta %g and --hstar %g: B/(eta h*) = %g is beyond floating-point range", c.Eta, c.HStar,
			r)
	}
	if c.LMin != 0 || c.LSaddle != 0 {
		if !(c.LMin > 0 && c.LSaddle > c.LMin) {
			return fault.Invalid("give 0 < --lmin < --lsaddle for rate predictions (got --lmin %g, --lsaddle %g)",
				c.LMin, c.LSaddle)
		}
	}
	r := theoryRecord{Command: "theory",
		Phi:       theory.Phi(c.Batch, c.Eta, c.HStar),
		NCritical: theory.NCritical(c.Batch, c.Eta, c.HStar),
		Exponent:  theory.Exponent(c.Batch, c.Eta, c.HStar, c.N),
		Conventions: map[string]string{"phi": "1 + B/(eta h*): P(theta) ∝ L^-phi (Ito)",
			"n_c":       "2 phi: minima with n >= n_c outlier directions are unstable",
			"power_law": "kappa = |h_e^s|/(2 pi) sqrt(det H*/|det H^s|) (L^s/L*)^-(B/(eta h*) + 1 - n/2)",
			"arrhenius": "same prefactor times exp(-2 B " +
				"Delta L/(eta h*)) (constant Hessian-aligned noise)",
			"frozen": "same prefactor times exp(-B Delta L/(eta h* L*)) (noise frozen at the minimum)",
			"units":  "rates per unit t = eta * steps; MFPT = 1/kappa in t and in steps",
			"phi_eta": "B/(eta h*) - B/2 + 1/2: the exact SGD chain's covariance (linear regression, x ~ N(0, h* " +
				"I_n), " +
				"replacement) matched to the law L^-phi",
			"kesten": "alpha with E|A_n...A_1 u|^alpha growth 0, A = I - (eta/B) sum_batch x x^T: P(|theta| > r) ~ " +
				"r^-alpha; n = 1 by quadrature, n > 1 by Monte Carlo of one step (the norm factors are independent " +
				"for an isotropic population); phi_K = (alpha + n)/2"}}
	r.PhiEta = num.Float(theory.PhiEta(c.Batch, c.Eta, c.HStar))
	r.Alpha, r.AlphaSE, r.PhiK = num.Float(math.NaN()), num.Float(math.NaN()), num.Float(math.NaN())
	var alpha, se float64
	var kerr error
	if c.N == 1 {
		alpha, kerr = chain.KestenGaussian(c.Eta, c.Batch, c.HStar)
		se = 0
	} else {
		alpha, se, kerr = chain.KestenIsotropic(c.Eta, c.Batch, c.N, c.HStar, c.KestenSamples, c.Seed)
	}
	r.StepStable = theory.StepStable(c.Eta, c.HStar)
	r.ChainStable = !errors.Is(kerr, chain.ErrNoStationary)
	// The chain's contraction is established when the tail equation was solved or m stayed
	// negative (no heavy tail); another failure leaves it undetermined.
	contracts := "the exact chain contracts on average"
	if kerr != nil && !errors.Is(kerr, chain.ErrNoTail) && r.ChainStable {
		contracts = "the exact chain's contraction was not determined (see the Kesten note)"
	}
	r.Stable = float64(c.N) < r.NCritical && r.StepStable && r.ChainStable
	r.StableWhy = stableWhy(c.N, r.NCritical, c.Eta*c.HStar, r.StepStable, r.ChainStable, contracts)
	if kerr == nil {
		r.Alpha, r.AlphaSE, r.PhiK = num.Float(alpha), num.Float(se), num.Float(theory.PhiKesten(alpha, c.N))
	} else {
		r.KestenNote = kerr.Error()
	}
	if c.LMin > 0 {
		hs := c.HSaddle
		if hs <= 0 {
			hs = c.HStar
		}
		dr := c.DetRatio
		if dr <= 0 {
			dr = c.HStar / hs
		}
		b := theory.Barrier{LMin: c.LMin, LSaddle: c.LSaddle, HStar: c.HStar, HSaddleNeg: hs, DetRatio: num.Float(dr),
			N: c.N}
		r.Reduced, r.DeltaLogL = theory.ReducedBarrier(b, c.Batch, c.Eta), b.DeltaLogL()
		logs := map[string]float64{"power_law": theory.LogPowerLaw(b, c.Batch, c.Eta),
			"arrhenius": theory.LogArrhenius(b, c.Batch, c.Eta), "frozen_noise": theory.LogFrozen(b, c.Batch, c.Eta)}
		r.Rates, r.Log10Rates = map[string]num.Float{}, map[string]num.Float{}
		r.MFPT, r.MFPTSteps = map[string]num.Float{}, map[string]num.Float{}
		for k, l := range logs {
			r.Log10Rates[k] = num.Float(l / math.Ln10)
			r.Rates[k], r.MFPT[k] = representable(l), representable(-l)
			r.MFPTSteps[k] = representable(-l - math.Log(c.Eta))
		}
		for _, k := range rateNames {
			if -logs[k.key]-math.Log(c.Eta) < 0 {
				r.SubStep = append(r.SubStep, k.key)
			}
		}
		if !r.Stable {
			r.RatesNote = "the minimum is unstable (see above): the escape formulas assume escape from a stable " +
				"minimum, so these rates are outside their validity"
			if r.Exponent <= 0 {
				r.RatesNote += fmt.Sprintf("; the escape exponent %.4g <= 0 would make higher barriers faster to "+
					"cross", r.Exponent)
			}
		}
	}
	if err := e.check(r); err != nil {
		return err
	}
	if e.g.JSON {
		return e.writeJSON(r)
	}
	fmt.Fprintf(e.out, "eta = %g, B = %d, h* = %g, n = %d\n", c.Eta, c.Batch, c.HStar, c.N)
	fmt.Fprintf(e.out, "  stationary exponent phi = 1 + B/(eta h*) = %.6g (Stratonovich reading %.6g)\n", r.Phi,
		r.Phi-0.5)
	fmt.Fprintf(e.out, "  critical dimension n_c = 2 phi = %.6g: a minimum with n = %d outlier directions is %s (%s)\n",
		r.NCritical, c.N, map[bool]string{true: "stable", false: "unstable"}[r.Stable], r.StableWhy)
	fmt.Fprintf(e.out, "  escape exponent B/(eta h*) + 1 - n/2 = %.6g\n", r.Exponent)
	fmt.Fprintf(e.out, "  exact SGD chain, linear regression on x ~ N(0, h* I_n) with replacement:\n")
	if !theory.VarianceFinite(c.Batch, c.Eta, c.HStar) {
		fmt.Fprintf(e.out, "    finite-step phi_eta: none (the chain's variance is infinite: eta h* = %.4g >= "+
			"2B/(B + 2) = %.4g)\n", c.Eta*c.HStar, 2*float64(c.Batch)/float64(c.Batch+2))
	} else {
		fmt.Fprintf(e.out, "    finite-step phi_eta = B/(eta h*) - B/2 + 1/2 = %.6g\n", float64(r.PhiEta))
	}
	switch {
	case kerr != nil:
		fmt.Fprintf(e.out, "    Kesten tail: none (%v)\n", kerr)
	case c.N == 1:
		fmt.Fprintf(e.out, "    Kesten tail alpha = %.5g (quadrature), P(|theta| > r) ~ r^-alpha; phi_K = (alpha + "+
			"1)/2 "+
			"= %.5g\n", alpha, float64(r.PhiK))
	default:
		fmt.Fprintf(e.out, "    Kesten tail alpha = %.4g +- %.2g (Monte Carlo, %d samples); phi_K = (alpha + n)/2 "+
			"= %.4g\n",
			alpha, se, c.KestenSamples, float64(r.PhiK))
	}
	if r.MFPT != nil {
		fmt.Fprintf(e.out, "  L* = %g, L^s = %g: Delta L = %.4g, Delta log L = %.4g, reduced barrier (B/(eta h*)) "+
			"log(L^s/L*) = %.3g%s\n", c.LMin, c.LSaddle, c.LSaddle-c.LMin, r.DeltaLogL, r.Reduced,
			map[bool]string{true: "", false: " (small: Kramers' approximation is poor)"}[r.Reduced > 3])
		for _, k := range rateNames {
			l10 := float64(r.Log10Rates[k.key])
			warn := ""
			if slices.Contains(r.SubStep, k.key) {
				warn = " (less than one step: outside the formula's validity, which assumes escapes much slower " +
					"than a step)"
			}
			fmt.Fprintf(e.out, "  %-38s kappa = %s per unit t; MFPT = %s t = %s steps%s\n", k.label, pow10(l10),
				pow10(-l10), pow10(-l10-math.Log10(c.Eta)), warn)
		}
		if r.RatesNote != "" {
			fmt.Fprintf(e.out, "  note: %s\n", r.RatesNote)
		}
	}
	return nil
}

// representable is exp(l), or NaN (null in JSON) when it over- or underflows a float64.
func representable(l float64) num.Float {
	v := math.Exp(l)
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) || v < 0x1p-1022 {
		return num.Float(math.NaN())
	}
	return num.Float(v)
}

// stableWhy says which of the three criteria a minimum fails (all of them that fail), or why
// it is stable: n < n_c (the SDE's), eta h* < 2 (gradient descent's) and the exact chain's
// contraction on average.
func stableWhy(n int, nc, etaH float64, stepStable, chainStable bool, contracts string) string {
	var fails []string
	if !stepStable {
		fails = append(fails, fmt.Sprintf("eta h* = %.4g >= 2: a full-batch step overshoots the outlier directions "+
			"and gradient descent itself leaves the minimum; the SDE formulas below do not apply", etaH))
	}
	if float64(n) >= nc {
		fails = append(fails, fmt.Sprintf("n = %d >= n_c = %.4g", n, nc))
	}
	if !chainStable {
		why := "the exact chain of SGD with replacement on x ~ N(0, h* I_n) does not contract on average " +
			"(E log|A u| >= 0): real SGD's parameters are not confined there"
		if len(fails) == 0 {
			why += fmt.Sprintf(", although n = %d < n_c = %.4g and eta h* = %.4g < 2 (the SDE's criteria)", n, nc,
				etaH)
		}
		fails = append(fails, why)
	}
	if len(fails) > 0 {
		return strings.Join(fails, "; ")
	}
	return fmt.Sprintf("n = %d < n_c = %.4g, eta h* = %.4g < 2; %s", n, nc, etaH, contracts)
}
