package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sgdlab/sgdlab/num"
)

// Status is an experiment's outcome, decided from its checks.
type Status string

// The statuses. NotMeasured covers what could not be measured here (data that is not on
// the machine, a dynamics left out of the parameters, too few events, a shard's partial
// ensembles); Failed is an experiment that stopped with an error; NotApplicable is the exact
// column of an experiment that has no exact discrete-time prediction.
const (
	Agrees        Status = "agrees"
	Partial       Status = "partial"
	Deviates      Status = "deviates"
	NotMeasured   Status = "not measured"
	Failed        Status = "failed"
	NotApplicable Status = "not applicable"
)

// Tone is how the report colours a status: ok, mid or bad.
func (s Status) Tone() string {
	switch s {
	case Agrees:
		return "ok"
	case Deviates, Failed:
		return "bad"
	}
	return "mid"
}

// Criterion is a named threshold a check applies; every criterion a verdict used is shown in
// the report beside it (generated from the checks).
type Criterion struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Meaning string  `json:"meaning"`
}

// Outcome is what one check concluded.
type Outcome string

// The outcomes: a check is uninformative when the number it rests on was not measured, is not
// finite, or rests on too few events to decide.
const (
	Pass          Outcome = "pass"
	Fail          Outcome = "fail"
	Uninformative Outcome = "uninformative"
)

// Scope is what a check compares: real SGD with the paper's theory, real SGD with sgdlab's
// exact discrete-time prediction (the chain, phi_eta), or an approximation the theory rests
// on with its exact counterpart (decoupling against the exact noise, a formula against the
// SDE it is derived from), which decides neither status.
type Scope string

// The scopes.
const (
	Paper  Scope = "paper"
	Exact  Scope = "exact"
	Approx Scope = "approximation"
)

// Role is what a check decides. A status agrees when every Both and Full check passes; when
// one of them fails, it is partial if every Both and Fallback check passes (the paper's
// qualitative claim holds where its quantitative one does not), and deviates otherwise.
type Role string

// The roles.
const (
	Both     Role = "required"    // needed for agreement and for partial agreement
	Full     Role = "full"        // needed for agreement only (the quantitative claim)
	Fallback Role = "qualitative" // decides partial agreement when a Full check fails
)

// Check is one typed comparison of a measured number with a criterion. Verdict functions
// build every check with the constructors below, which decide the outcome from the numbers
// and the criterion alone, and the status, the prose and the criteria table of a result are
// generated from the checks.
type Check struct {
	Scope     Scope     `json:"scope"`
	Role      Role      `json:"role"`
	Name      string    `json:"name"`      // what is compared
	Criterion string    `json:"criterion"` // the criterion's name
	Threshold float64   `json:"threshold"` // the criterion's value
	Measured  num.Float `json:"measured"`  // the statistic judged
	SE        num.Float `json:"se"`        // its standard error, when it has one
	Target    num.Float `json:"target"`    // the value it is compared with, when there is one
	N         int       `json:"n"`         // the events, points or configurations it rests on
	Outcome   Outcome   `json:"outcome"`
	Claim     string    `json:"claim"` // the sentence shown, with the numbers
	crit      Criterion
	also      []Criterion // further criteria the outcome rests on (a range a slope needs)
}

var nan = num.Float(math.NaN())

// finiteF reports whether x is a finite number.
func finiteF(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// newCheck is a check of criterion c with its number and claim; decide sets the outcome.
func newCheck(s Scope, c Criterion, name string, measured float64, claim string, args ...any) Check {
	return Check{Scope: s, Role: Both, Name: name, Criterion: c.Name, Threshold: c.Value, crit: c,
		Measured: num.Float(measured), SE: nan, Target: nan, Claim: fmt.Sprintf(claim, args...)}
}

// as sets the check's role.
func (c Check) as(r Role) Check { c.Role = r; return c }

// decide sets the outcome: uninformative when the measured number is not finite or rests on
// fewer than minN events, pass when ok, fail otherwise.
func (c Check) decide(ok bool, n, minN int, why string) Check {
	c.N = n
	switch {
	case !finiteF(float64(c.Measured)):
		c.Outcome, c.Measured = Uninformative, nan // an infinity (a zero denominator) is no measurement either
		if why == "" {
			why = "the number was not measured"
		}
		c.Claim += " Not informative: " + why + "."
	case n < minN:
		c.Outcome = Uninformative
		c.Claim += fmt.Sprintf(" Not informative: it rests on %d events, fewer than the %d needed.", n, minN)
	case ok:
		c.Outcome = Pass
	default:
		c.Outcome = Fail
	}
	return c
}

// byInterval decides a check resting on an exact 95% interval of a rate: an interval wholly
// outside what is predicted fails with any number of events (it is exact), one that reaches
// it passes only with at least minN events (with fewer it reaches almost anything by its
// width alone) and is uninformative otherwise.
func (c Check) byInterval(reaches bool, n, minN int) Check {
	if !reaches && finiteF(float64(c.Measured)) {
		c.N, c.Outcome = n, Fail
		return c
	}
	return c.decide(reaches, n, minN, "")
}

// atLeast checks measured >= c.Value.
func atLeast(s Scope, c Criterion, name string, measured float64, n int, claim string, args ...any) Check {
	k := newCheck(s, c, name, measured, claim, args...)
	return k.decide(measured >= c.Value, n, 1, "")
}

// atMost checks measured <= c.Value (a deviation in standard errors, a relative difference).
func atMost(s Scope, c Criterion, name string, measured float64, n int, claim string, args ...any) Check {
	k := newCheck(s, c, name, measured, claim, args...)
	return k.decide(measured <= c.Value, n, 1, "")
}

// above checks measured > c.Value (a p-value above the rejection level).
func above(s Scope, c Criterion, name string, measured float64, n int, claim string, args ...any) Check {
	k := newCheck(s, c, name, measured, claim, args...)
	return k.decide(measured > c.Value, n, 1, "")
}

// withinSE checks |measured - target| <= c.Value standard errors: the measured statistic
// is the deviation z in standard errors; a missing or zero standard error, or fewer than minN
// events, is uninformative.
func withinSE(s Scope, c Criterion, name string, measured, se, target float64, n, minN int, claim string,
	args ...any) Check {
	z := math.Abs(measured-target) / se
	if !(se > 0) {
		z = math.NaN()
	}
	k := newCheck(s, c, name, z, claim, args...)
	k.SE, k.Target = num.Float(se), num.Float(target)
	return k.decide(z <= c.Value, n, minN, "no standard error (or no measurement) to judge the difference by")
}

// missing is a check that could not be made, with the reason.
func missing(s Scope, c Criterion, name, why string, args ...any) Check {
	k := newCheck(s, c, name, math.NaN(), "%s:", name)
	return k.decide(false, 0, 0, fmt.Sprintf(why, args...))
}

// Verdict is the checks of an experiment with remarks: sentences stating measured numbers
// that decide nothing (a gap split, another dynamics' fit).
type Verdict struct {
	Checks  []Check
	Remarks []string
}

// add appends checks.
func (v *Verdict) add(cs ...Check) { v.Checks = append(v.Checks, cs...) }

// remark appends a sentence.
func (v *Verdict) remark(format string, args ...any) {
	v.Remarks = append(v.Remarks, fmt.Sprintf(format, args...))
}

// Status is the status in a scope, from that scope's checks alone (see Role); NotApplicable
// for the exact scope when the experiment has no exact check.
func (v Verdict) Status(s Scope) Status {
	var agree, fallback []Check
	for _, c := range v.Checks {
		if c.Scope != s {
			continue
		}
		if c.Role == Both || c.Role == Full {
			agree = append(agree, c)
		}
		if c.Role == Both || c.Role == Fallback {
			fallback = append(fallback, c)
		}
	}
	if len(agree) == 0 {
		if s == Exact {
			return NotApplicable
		}
		return NotMeasured
	}
	notPass := func(c Check) bool { return c.Outcome != Pass }
	failing := func(r Role) func(Check) bool {
		return func(c Check) bool { return c.Role == r && c.Outcome == Fail }
	}
	switch {
	case !slices.ContainsFunc(agree, notPass):
		return Agrees
	case slices.ContainsFunc(agree, failing(Both)):
		return Deviates
	case slices.ContainsFunc(agree, failing(Full)):
		// The quantitative claim fails; the qualitative one (every required and fallback
		// check) may still hold.
		if len(fallback) > 0 && !slices.ContainsFunc(fallback, notPass) {
			return Partial
		}
		return Deviates
	case slices.ContainsFunc(agree, func(c Check) bool { return c.Outcome == Pass || finiteF(float64(c.Measured)) }):
		return Partial
	}
	return NotMeasured
}

// statusWords introduce the prose of each status.
var statusWords = map[Status]string{Agrees: "Agrees", Partial: "Partly", Deviates: "Deviates",
	NotMeasured: "Not measured", NotApplicable: "Not applicable", Failed: "Failed"}

// Text is the verdict in words, generated from the checks: for each scope with checks its
// status and every check's claim with its outcome, then the remarks.
func (v Verdict) Text() string {
	var parts []string
	for _, s := range []Scope{Paper, Exact, Approx} {
		var claims []string
		for _, c := range v.Checks {
			if c.Scope == s {
				claims = append(claims, c.Claim+" ["+string(c.Outcome)+"]")
			}
		}
		if len(claims) == 0 {
			continue
		}
		head := map[Scope]string{Paper: statusWords[v.Status(Paper)] + " with the paper:",
			Exact:  "sgdlab's exact discrete-time prediction against real SGD: " + statusWords[v.Status(Exact)] + ":",
			Approx: "The approximations:"}[s]
		parts = append(parts, head+" "+strings.Join(claims, " "))
	}
	parts = append(parts, v.Remarks...)
	return strings.Join(parts, " ")
}

// Criteria lists the distinct criteria the checks applied, in the order first used.
func (v Verdict) Criteria() []Criterion {
	var out []Criterion
	seen := map[string]bool{}
	for _, c := range v.Checks {
		for _, k := range append([]Criterion{c.crit}, c.also...) {
			if !seen[k.Name] {
				seen[k.Name] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// Find returns the first check whose name contains name, and whether there is one.
func (v Verdict) Find(name string) (Check, bool) {
	for _, c := range v.Checks {
		if strings.Contains(c.Name, name) {
			return c, true
		}
	}
	return Check{}, false
}

// failed is the verdict of an experiment that stopped with an error.
func failed(err error) Verdict {
	return Verdict{Remarks: []string{"Failed: " + err.Error()}}
}
