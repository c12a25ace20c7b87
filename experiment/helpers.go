package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/stats"
	"github.com/sgdlab/sgdlab/study"
)

// dynamicsNames are the dynamics experiments name in their parameters: sgd (with the
// experiment's sampling), sgd-replacement (always with replacement: the Markov chain the
// exact chain solves), sde (exact noise, step eta), sde-fine and decoupled-fine (step
// eta/substeps), decoupled (step eta), langevin-fine.
var dynamicsNames = map[string]struct {
	kind        string
	fine        bool
	replacement bool
}{"sgd": {"sgd", false, false}, "sgd-replacement": {"sgd", false, true}, "sde": {"sde", false, false},
	"sde-fine": {"sde", true, false}, "decoupled": {"decoupled", false, false},
	"decoupled-fine": {"decoupled", true, false}, "langevin-fine": {"langevin", true, false}}

// dynamicsList names the dynamics for messages.
const dynamicsList = "sgd, sgd-replacement, sde, sde-fine, decoupled, decoupled-fine, langevin-fine"

// dynamics returns the study description of the named dynamics with SGD's eta, B and
// sampling; fine SDEs take substeps steps per SGD step.
func dynamics(name string, eta float64, batch int, sampling string, substeps int) (study.Dynamics, error) {
	d, ok := dynamicsNames[name]
	if !ok {
		return study.Dynamics{}, fault.Invalid("unknown dynamics %q (%s)", name, dynamicsList)
	}
	sub := 1
	if d.fine {
		sub = substeps
	}
	if d.replacement {
		sampling = "replacement"
	}
	return study.Dynamics{Kind: d.kind, Eta: eta, Batch: batch, Sampling: sampling, Substeps: sub}, nil
}

// checkDynamics validates a list of dynamics names.
func checkDynamics(names []string, substeps int) error {
	if len(names) == 0 {
		return fault.Invalid("dynamics: name at least one")
	}
	for _, n := range names {
		if _, ok := dynamicsNames[n]; !ok {
			return fault.Invalid("unknown dynamics %q (%s)", n, dynamicsList)
		}
	}
	if substeps < 1 {
		return fault.Invalid("substeps = %d must be at least 1", substeps)
	}
	return nil
}

// check collects validation failures of parameters; the first one is reported.
type check struct{ err error }

func (c *check) that(ok bool, format string, args ...any) {
	if !ok && c.err == nil {
		c.err = fault.Invalid(format, args...)
	}
}

// positive reports whether x is a positive finite number.
func positive(x float64) bool { return x > 0 && !math.IsInf(x, 0) }

// f3 and g4 format a number for the report's tables; a number that is not finite was not
// measured (or is beyond range), and says so instead of printing NaN.
func f3(v float64) string {
	if !finiteF(v) {
		return notFinite(v)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func g4(v float64) string {
	if !finiteF(v) {
		return notFinite(v)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// notFinite words a number that is not finite.
func notFinite(v float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	return "beyond range"
}
func pmS(v, e float64) string {
	if math.IsNaN(e) || math.IsInf(e, 0) || e == 0 { // no (or no finite) standard error
		return g4(v)
	}
	return g4(v) + " ± " + strconv.FormatFloat(e, 'g', 2, 64)
}

// logFit fits log y = A + B log x with the relative errors of y (at least three usable
// points at two or more distinct x; false otherwise, or when the fit is not finite).
func logFit(x, y, sy []float64) (stats.LineFit, bool) {
	var lx, ly, ls []float64
	for i := range x {
		if y[i] > 0 && sy[i] > 0 && finiteF(y[i]) && finiteF(sy[i]) && x[i] > 0 {
			lx, ly, ls = append(lx, math.Log(x[i])), append(ly, math.Log(y[i])), append(ls, sy[i]/y[i])
		}
	}
	if len(lx) < 3 || slices.Min(lx) == slices.Max(lx) {
		return stats.LineFit{}, false
	}
	f := stats.FitLine(lx, ly, ls)
	return f, finiteF(f.Slope) && finiteF(f.SlopeSE)
}

// noiseRatio is Noise(theta_s) / Noise(theta*): SGD's noise strength at the saddle relative
// to the minimum; the theory's model (noise ∝ L with H frozen at the minimum) gives L^s/L*.
func noiseRatio(o *model.Objective, br *landscape.Barrier) float64 {
	w := o.NewWorker(2, 0)
	at := func(th []float64) float64 {
		return noise.NewState(w, th, sgd.Replacement, 1).MeasureStrength(false).Noise
	}
	return at(br.Saddle.Theta) / at(br.MinA.Theta)
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func fmtFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = g4(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// cliEscape is the `sgdlab escape` command that runs the same ensemble as spec (with the
// same store key: the CLI and the experiments share their results).
func cliEscape(spec study.EscapeSpec) string {
	d := spec.Dynamics
	s := fmt.Sprintf(
		"sgdlab escape --model %s --data %s --dynamics %s --eta %g --batch %d --sampling %s --exit %s --runs %d "+
			"--max-steps %d --seed %d",
		spec.Model,
		spec.Data,
		d.Kind,
		d.Eta,
		d.Batch,
		d.Sampling,
		spec.Exit,
		spec.Runs,
		spec.MaxSteps,
		spec.Seed,
	)
	if d.Substeps > 1 {
		s += fmt.Sprintf(" --substeps %d", d.Substeps)
	}
	return s + " --store OUT/runs.db"
}

// first is the first of two values (for functions that also return a count).
func first(x float64, _ int) float64 { return x }

// stepBudget is a run's budget of b steps, at least one (a budget of zero would mean the
// escape study's own default) and at most maxSteps, which also stands in for a b that is not
// a finite number (a prediction without a finite time).
func stepBudget(b float64, maxSteps int64) int64 {
	if !(b < float64(maxSteps)) {
		return maxSteps
	}
	return max(1, int64(b))
}
