package main

import (
	"fmt"
	"path/filepath"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/study"
)

type barrierCmd struct {
	problemFlags
	From string `help:"${barrier_from}" placeholder:"FILE.npy|a,b,..."`
	To   string `help:"${barrier_to}" placeholder:"FILE.npy|a,b,..."`
	Seed uint64 `help:"Seed of the initialisations." default:"1"`
	Out  string `help:"Directory for barrier.json, path.csv, min_a.npy, min_b.npy and saddle.npy." placeholder:"DIR"`
}

type barrierRecord struct {
	header
	*study.BarrierRecord
}

func (c *barrierCmd) Run(e *env) error {
	if err := outDir("--out", c.Out); err != nil {
		return err
	}
	from, err := c.params("--from", c.From)
	if err != nil {
		return err
	}
	to, err := vector("--to", c.To)
	if err != nil {
		return err
	}
	bar := e.prog.Bar(-1, "barrier")
	rec, err := study.Barrier(e.ctx, e.studyEnv(bar), study.BarrierSpec{Problem: c.problem(), From: from, To: to,
		Seed: c.Seed})
	bar.Done()
	if err != nil {
		return err
	}
	out := barrierRecord{header: newHeader("barrier"), BarrierRecord: rec}
	if err := e.check(out); err != nil {
		return err
	}
	br := rec.Barrier
	if c.Out != "" {
		out.Outputs = map[string]string{}
		for name, th := range map[string][]float64{"min_a": br.MinA.Theta, "min_b": br.MinB.Theta,
			"saddle": br.Saddle.Theta} {
			p := filepath.Join(c.Out, name+".npy")
			if err := npy.WriteFile(p, npy.Vector(th)); err != nil {
				return err
			}
			out.Outputs[name] = p
		}
		rows := make([][]float64, len(br.Path.Losses))
		for i, l := range br.Path.Losses {
			rows[i] = []float64{float64(i), l}
		}
		p := filepath.Join(c.Out, "path.csv")
		if err := report.WriteCSV(p, []string{"image", "loss"}, rows); err != nil {
			return err
		}
		out.Outputs["path"] = p
		p = filepath.Join(c.Out, "barrier.json")
		out.Outputs["record"] = p
		if err := report.WriteJSON(p, out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(out)
	}
	s := br.Saddle
	fmt.Fprintf(e.out, "barrier of %s on %s\n", rec.Model, rec.Data)
	fmt.Fprintf(e.out, "  minimum A: L* = %.6g, Hessian eigenvalues %s\n", br.MinA.Loss,
		fmtList(br.MinA.Eigs[:min(len(br.MinA.Eigs), 8)]))
	fmt.Fprintf(e.out, "  minimum B: L  = %.6g\n", br.MinB.Loss)
	fmt.Fprintf(e.out, "  saddle:    L^s = %.6g, |grad| = %.2g, index %d, negative eigenvalue %.6g, eigenvalues "+
		"%s\n", s.Loss, s.GradNorm, s.Index, s.NegEig, fmtList(s.Eigs[:min(len(s.Eigs), 8)]))
	fmt.Fprintf(e.out, "  Delta L = %.6g, Delta log L = log(L^s/L*) = %s\n", br.DeltaL, deltaLogL("%.6g", br))
	if br.Note != "" {
		fmt.Fprintln(e.out, "  note:", br.Note)
	}
	det := fv("%.5g", rec.Theory.DetRatio)
	if rec.TheoryNote != "" {
		det = "not defined (see the note)"
	}
	fmt.Fprintf(e.out, "  theory inputs: h* = %.5g, n = %d, det ratio = %s, |h_e^s| = %.5g\n", rec.Theory.HStar,
		rec.Theory.N, det, rec.Theory.HSaddleNeg)
	if rec.TheoryNote != "" {
		fmt.Fprintln(e.out, "  note:", rec.TheoryNote)
	}
	for _, t := range append(br.Tried, rec.Notes...) {
		fmt.Fprintln(e.out, "  tried:", t)
	}
	printOutputs(e, out.Outputs)
	return nil
}

// deltaLogL formats the barrier's log(L^s/L*), or says why it is not defined.
func deltaLogL(format string, br *landscape.Barrier) string {
	if br.Note != "" {
		return "not defined (see the note)"
	}
	return fv(format, br.DeltaLogL)
}
