package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
)

// SuiteOptions configures Reproduce.
type SuiteOptions struct {
	Out    string // report directory
	Full   bool
	Params string // a parameter file (one experiment) or a directory of ID.json files
	Study  study.Env
	// Progress reports the current stage and the fraction of the suite done (by weight).
	Progress func(stage string, frac float64)
	Version  string
}

// Report is the machine-readable report (report.json).
type Report struct {
	Version  string    `json:"version"`
	Mode     string    `json:"mode"`
	Shard    string    `json:"shard"`
	Started  string    `json:"started"`
	Elapsed  float64   `json:"elapsed_s"`
	Results  []*Result `json:"results"`
	Complete bool      `json:"complete"`
}

// Plan loads and validates the parameters of every experiment before any runs: a
// parameter error is reported (class fault.ErrInvalid) before work starts.
func Plan(exps []*Experiment, full bool, params string) ([]Params, error) {
	dir := false
	if params != "" {
		st, err := os.Stat(params)
		if err != nil {
			return nil, fault.Invalid("parameters %s: %v", params, errors.Unwrap(err))
		}
		dir = st.IsDir()
		if !dir && len(exps) > 1 {
			return nil, fault.Invalid("parameters %s is a file: give a directory of ID.json files when running "+
				"several experiments", params)
		}
	}
	var out []Params
	found := false
	for _, e := range exps {
		path := params
		if dir {
			path = filepath.Join(params, e.ID+".json")
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				path = "" // experiments without a file in the directory keep their defaults
			}
		}
		found = found || path != ""
		p, err := LoadParams(e, full, path)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if params != "" && !found {
		ids := make([]string, len(exps))
		for i, e := range exps {
			ids[i] = e.ID + ".json"
		}
		return nil, fault.Invalid("parameters directory %s holds none of %s: name the directory written to "+
			"OUT/params, or a file", params, strings.Join(ids, ", "))
	}
	return out, nil
}

// Reproduce runs the experiments with their planned parameters and writes
// out/params/ID.json, out/ID/*, out/report.json and out/index.html (rewritten after each
// experiment, so that an interrupted suite keeps a report of what finished). An experiment
// that fails is reported as failed and the others still run; the returned error joins the
// failures (with their classes: a divergence stays a divergence). On cancellation the report
// holds what finished and the error is the context's.
func Reproduce(ctx context.Context, exps []*Experiment, params []Params, opt SuiteOptions) (*Report, error) {
	start := time.Now()
	rep := &Report{Version: opt.Version, Mode: map[bool]string{true: "full", false: "quick"}[opt.Full],
		Shard: opt.Study.Ens.Shard.String(), Started: start.UTC().Format(time.RFC3339)}
	total, done := 0.0, 0.0
	for _, e := range exps {
		total += e.Weight
	}
	var failures []error
	for i, e := range exps {
		if ctx.Err() != nil {
			break
		}
		if err := report.WriteJSON(filepath.Join(opt.Out, "params", e.ID+".json"), params[i]); err != nil {
			return rep, err
		}
		dir := filepath.Join(opt.Out, e.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rep, err
		}
		base := done
		env := &Env{Ctx: ctx, Study: opt.Study, Dir: dir, Full: opt.Full}
		env.Study.Stage = func(s string) {
			if opt.Progress != nil {
				opt.Progress(s, base/total)
			}
		}
		env.stage("%s: %s", e.ID, e.Title)
		r, err := e.Run(env, params[i])
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			// The study fields an experiment's errors name are its own, not reproduce's flags.
			failures = append(failures, fmt.Errorf("%s failed: %w", e.ID, fault.Unfield(err)))
			r = &Result{ID: e.ID, Title: e.Title, Paper: e.Paper, Params: params[i]}
			r.judge(failed(err))
			r.Status, r.ExactStatus = Failed, Failed
		}
		if sh := opt.Study.Ens.Shard; sh.N > 1 && r.Status != Failed {
			// A shard's ensembles are partial: no check rests on them.
			for i := range r.Checks {
				r.Checks[i].Outcome = Uninformative
			}
			r.Verdict = fmt.Sprintf("Not measured: shard %s holds only its part of each ensemble; merge the shard "+
				"stores (sgdlab merge) and rerun reproduce with the merged store for the verdict. Shard-only "+
				"verdict: %s (exact: %s) %s", sh, r.Status, r.ExactStatus, r.Verdict)
			r.Status = NotMeasured
			if r.ExactStatus != NotApplicable {
				r.ExactStatus = NotMeasured
			}
		}
		r.wordNonFinite()
		rep.Results = append(rep.Results, r)
		done += e.Weight
		if opt.Progress != nil {
			opt.Progress(e.ID+" done", done/total)
		}
		if err := writeReport(opt.Out, rep, start); err != nil {
			return rep, err
		}
	}
	rep.Complete = len(rep.Results) == len(exps)
	if err := writeReport(opt.Out, rep, start); err != nil {
		return rep, err
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	return rep, errors.Join(failures...)
}

// writeReport writes report.json and index.html for the results so far.
func writeReport(out string, rep *Report, start time.Time) error {
	rep.Elapsed = time.Since(start).Seconds()
	if err := report.WriteJSON(filepath.Join(out, "report.json"), rep); err != nil {
		return err
	}
	p := report.Page{
		Title: "sgdlab: reproducing Mori, Ziyin, Liu, Ueda, \"Logarithmic landscape and power-law escape rate of SGD\"",
		Subtitle: []string{
			fmt.Sprintf("sgdlab %s, %s mode, shard %s, started %s, %.0f s so far.", rep.Version, rep.Mode, rep.Shard,
				rep.Started, rep.Elapsed),
			"Conventions (docs/theory.md): l = 1/2 (f - y)^2, L = (1/N) sum l; time t = eta * steps; rates per " +
				"unit t; epoch sampling = random partition without replacement unless stated; h* = typical outlier " +
				"eigenvalue of the Hessian at the minimum.",
			"Every measurement is recorded in the run store (runs.db) with the parameters in params/; rerunning " +
				"sgdlab reproduce with the same store reads them back and regenerates this report.",
		},
	}
	for _, r := range rep.Results {
		s := report.Section{ID: r.ID, Title: r.Title, Status: string(r.Status), Tone: r.Status.Tone(), Notes: r.Notes,
			Exact: string(r.ExactStatus), ExactTone: r.ExactStatus.Tone()}
		for _, c := range r.Checks {
			s.Checks = append(s.Checks, checkRow(c))
		}
		for _, f := range []report.Field{{Label: "Paper's claim", Text: r.Claim}, {Label: "Theory", Text: r.Theory},
			{Label: "Setup", Text: r.Setup}, {Label: "Verdict", Text: r.Verdict}} {
			if f.Text != "" {
				s.Fields = append(s.Fields, f)
			}
		}
		for _, c := range r.Criteria {
			s.Criteria = append(s.Criteria, report.Row{Name: c.Name, Value: g4(c.Value), Note: c.Meaning})
		}
		for _, n := range r.Numbers {
			row := report.Row{Name: n.Name, Value: g4(float64(n.Value)), Note: n.Note}
			if e := float64(n.Err); e != 0 && !math.IsNaN(e) {
				row.Value = pmS(float64(n.Value), e)
			}
			if n.Theory != 0 {
				row.Theory = g4(float64(n.Theory))
			}
			s.Numbers = append(s.Numbers, row)
		}
		for _, t := range r.Tables {
			s.Tables = append(s.Tables, report.HTMLTable{Title: t.Title, Header: t.Header, Rows: t.Rows})
		}
		for _, f := range r.Figures {
			s.Figures = append(s.Figures, report.HTMLFigure{Title: f.Title, PNG: f.PNG, CSV: f.CSV, Caption: f.Caption})
		}
		p.Sections = append(p.Sections, s)
	}
	_, err := report.WriteHTML(out, p)
	return err
}

// nonFiniteWord matches a NaN or an infinity formatted into text.
var nonFiniteWord = regexp.MustCompile(`(^|[^A-Za-z])([+-]?Inf|NaN)([^A-Za-z]|$)`)

// wordNonFinite replaces, in the prose of a result (verdict, check claims, notes, table cells,
// the notes of its numbers and its captions), a number formatted as NaN by "not measured" and
// an infinity by "beyond range": the structured numbers carry NaN as null, the text says it
// in words.
func (r *Result) wordNonFinite() {
	fix := func(s string) string {
		return nonFiniteWord.ReplaceAllStringFunc(s, func(m string) string {
			w := "not measured"
			if strings.Contains(m, "Inf") {
				w = "beyond range"
			}
			return strings.Replace(strings.Replace(strings.Replace(m, "+Inf", w, 1), "-Inf", w, 1), "NaN", w, 1)
		})
	}
	r.Verdict = fix(r.Verdict)
	for i := range r.Checks {
		r.Checks[i].Claim = fix(r.Checks[i].Claim)
	}
	for i := range r.Notes {
		r.Notes[i] = fix(r.Notes[i])
	}
	for i := range r.Numbers {
		r.Numbers[i].Note = fix(r.Numbers[i].Note)
	}
	for _, t := range r.Tables {
		for _, row := range t.Rows {
			for j := range row {
				row[j] = fix(row[j])
			}
		}
	}
	for i := range r.Figures {
		r.Figures[i].Caption = fix(r.Figures[i].Caption)
	}
}

// checkRow is a check as a row of the report.
func checkRow(c Check) report.CheckRow {
	val := func(x num.Float) string {
		if !finiteF(float64(x)) {
			return "not measured"
		}
		return g4(float64(x))
	}
	m := val(c.Measured)
	if finiteF(float64(c.SE)) && c.SE != 0 {
		m = pmS(float64(c.Measured), float64(c.SE))
	}
	t := ""
	if finiteF(float64(c.Target)) {
		t = g4(float64(c.Target))
	}
	tone := map[Outcome]string{Pass: "ok", Fail: "bad", Uninformative: "mid"}[c.Outcome]
	return report.CheckRow{Scope: string(c.Scope), Name: c.Name, Measured: m, Target: t,
		Criterion: fmt.Sprintf("%s %s", c.Criterion, g4(c.Threshold)), N: fmt.Sprint(c.N),
		Outcome: string(c.Outcome), Tone: tone}
}

// Headline is a one-line summary of a result for terminals: the claim of the check that
// decided its status against the paper (the first failing one, else the first uninformative
// one, else the first), or the verdict's first sentence when there are no checks.
func Headline(r *Result) string {
	v := r.Verdict
	var pick *Check
	for _, want := range []Outcome{Fail, Uninformative, Pass} {
		for i := range r.Checks {
			if c := &r.Checks[i]; pick == nil && c.Scope == Paper && c.Outcome == want {
				pick = c
			}
		}
	}
	if pick != nil {
		v = pick.Claim
	}
	if i := strings.Index(v, ". "); i > 0 && i < 220 && pick == nil {
		v = v[:i+1]
	} else if len(v) > 220 {
		v = v[:217] + "..."
	}
	return fmt.Sprintf("%-3s %-15s %-22s %6.1fs  %s", r.ID, "["+string(r.Status)+"]",
		"[exact: "+string(r.ExactStatus)+"]", r.Elapsed, v)
}

// figure renders f into env.Dir/name.png, writes the CSV behind it and returns the entry
// (paths relative to the report directory, which is env.Dir's parent).
func (e *Env) figure(name string, f report.Figure, header []string, rows [][]float64, caption string) (Figure, error) {
	png := filepath.Join(e.Dir, name+".png")
	if err := f.WritePNG(png); err != nil {
		return Figure{}, err
	}
	fig := Figure{Title: f.Title, PNG: rel(e.Dir, png), Caption: caption}
	if header != nil {
		csv := filepath.Join(e.Dir, name+".csv")
		if err := report.WriteCSV(csv, header, rows); err != nil {
			return Figure{}, err
		}
		fig.CSV = rel(e.Dir, csv)
	}
	return fig, nil
}

func rel(dir, p string) string { return filepath.Join(filepath.Base(dir), filepath.Base(p)) }

// timed runs fn and records the elapsed time in the result.
func timed(fn func() (*Result, error)) (*Result, error) {
	t0 := time.Now()
	r, err := fn()
	if r != nil {
		r.Elapsed = time.Since(t0).Seconds()
	}
	return r, err
}
