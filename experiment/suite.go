package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
)

// SuiteOptions configures Reproduce.
type SuiteOptions struct {
	Out     string // report directory
	Full    bool
	Params  string // a parameter file (one experiment) or a directory of ID.json files
	Ens     ensemble.Env
	Data    data.Options
	Version string
	// Progress reports the current stage and the fraction of the suite done (by weight).
	Progress func(stage string, frac float64)
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

// Reproduce runs the experiments and writes out/params/ID.json, out/ID/*, out/report.json
// and out/index.html. An experiment that fails is reported as failed and the others still
// run; on cancellation the report holds what finished.
func Reproduce(ctx context.Context, exps []*Experiment, opt SuiteOptions) (*Report, error) {
	start := time.Now()
	rep := &Report{Version: opt.Version, Mode: map[bool]string{true: "full", false: "quick"}[opt.Full], Shard: opt.Ens.Shard.String(), Started: start.UTC().Format(time.RFC3339)}
	total := 0.0
	for _, e := range exps {
		total += e.Weight
	}
	done := 0.0
	for _, e := range exps {
		if ctx.Err() != nil {
			break
		}
		pfile := opt.Params
		if st, err := os.Stat(opt.Params); opt.Params != "" && err == nil && st.IsDir() {
			pfile = filepath.Join(opt.Params, e.ID+".json")
		} else if opt.Params != "" && len(exps) > 1 {
			return rep, fmt.Errorf("--params %s is a file: give a directory of ID.json files when running several experiments", opt.Params)
		}
		params, err := Params(e, opt.Full, pfile)
		if err != nil {
			return rep, err
		}
		if err := report.WriteJSON(filepath.Join(opt.Out, "params", e.ID+".json"), params); err != nil {
			return rep, err
		}
		dir := filepath.Join(opt.Out, e.ID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rep, err
		}
		base := done
		env := &Env{Ctx: ctx, Ens: opt.Ens, Data: opt.Data, Dir: dir, Full: opt.Full, Stage: func(s string) {
			if opt.Progress != nil {
				opt.Progress(s, base/total)
			}
		}}
		env.stage("%s: %s", e.ID, e.Title)
		r, err := e.Run(env, params)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				break
			}
			r = &Result{ID: e.ID, Title: e.Title, Paper: e.Paper, Params: params, Status: Failed, Verdict: "Failed: " + err.Error()}
		}
		if opt.Ens.Shard.N > 1 && r.Status != DataMissing && r.Status != Failed {
			r.Notes = append(r.Notes, fmt.Sprintf("Shard %s: ensembles hold only this shard's trajectories; merge the shard stores (sgdlab merge) and rerun reproduce with the merged --store for the full result.", opt.Ens.Shard))
			r.Status = Sharded
		}
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
	return rep, ctx.Err()
}

// writeReport writes report.json and index.html for the results so far (called after each
// experiment, so an interrupted suite keeps a report of what finished).
func writeReport(out string, rep *Report, start time.Time) error {
	rep.Elapsed = time.Since(start).Seconds()
	if err := report.WriteJSON(filepath.Join(out, "report.json"), rep); err != nil {
		return err
	}
	p := report.Page{Title: "sgdlab: reproducing Mori, Ziyin, Liu, Ueda, \"Logarithmic landscape and power-law escape rate of SGD\"",
		Subtitle: []string{
			fmt.Sprintf("sgdlab %s, %s mode, shard %s, started %s, %.0f s so far.", rep.Version, rep.Mode, rep.Shard, rep.Started, rep.Elapsed),
			"Conventions (THEORY.md): l = 1/2 (f - y)^2, L = (1/N) sum l; time t = eta * steps; rates per unit t; epoch sampling = random partition without replacement unless stated; h* = typical outlier eigenvalue of the Hessian at the minimum.",
			"Every number comes from the run recorded in runs.db and the parameters in params/; rerun with sgdlab reproduce to regenerate.",
		}}
	for _, r := range rep.Results {
		s := report.Section{ID: r.ID, Title: r.Title, Status: r.Status, Notes: r.Notes}
		for _, f := range []report.Field{{Label: "Paper's claim", Text: r.Claim}, {Label: "Theory", Text: r.Theory}, {Label: "Setup", Text: r.Setup}, {Label: "Verdict", Text: r.Verdict}} {
			if f.Text != "" {
				s.Fields = append(s.Fields, f)
			}
		}
		for _, n := range r.Numbers {
			row := report.Row{Name: n.Name, Value: g4(n.Value), Note: n.Note}
			if n.Err != 0 && !math.IsNaN(n.Err) {
				row.Value = pmS(n.Value, n.Err)
			}
			if n.Theory != 0 {
				row.Theory = g4(n.Theory)
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

// Headline is a one-line summary of a result for terminals.
func Headline(r *Result) string {
	v := r.Verdict
	if i := strings.Index(v, ". "); i > 0 && i < 220 {
		v = v[:i+1]
	} else if len(v) > 220 {
		v = v[:217] + "..."
	}
	return fmt.Sprintf("%-3s %-13s %6.1fs  %s", r.ID, "["+r.Status+"]", r.Elapsed, v)
}
