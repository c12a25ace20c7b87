package main

import (
	"fmt"
	"path/filepath"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/landscape"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/theory"
)

// barrierFlags locate two minima and the saddle between them.
type barrierFlags struct {
	From string `help:"First minimum (.npy or comma-separated); default: descend from the model's initialisation." placeholder:"FILE.npy|a,b,..."`
	To   string `help:"Second minimum; default: descend from the mirror image -theta_A and from further random initialisations." placeholder:"FILE.npy|a,b,..."`
}

// findBarrier returns the minima and the saddle; seedVal drives the initialisations.
func (f barrierFlags) findBarrier(e *env, o *model.Objective, w *model.Worker, seedVal uint64) (*landscape.Barrier, []string, error) {
	var a []float64
	if f.From != "" {
		th, err := thetaArg(f.From, o)
		if err != nil {
			return nil, nil, err
		}
		a = th
	} else {
		init, _, _ := startTheta("", o, seedVal)
		p, err := landscape.Minimize(e.ctx, w, init, landscape.MinimizeOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("finding the first minimum: %w", err)
		}
		a = p.Theta
	}
	return f.withStart(e, o, w, a, seedVal)
}

// withStart finds the barrier from a known minimum a.
func (f barrierFlags) withStart(e *env, o *model.Objective, w *model.Worker, a []float64, seedVal uint64) (*landscape.Barrier, []string, error) {
	var notes []string
	var b []float64
	if f.To != "" {
		th, err := thetaArg(f.To, o)
		if err != nil {
			return nil, nil, err
		}
		b = th
	} else {
		starts := [][]float64{neg(a)}
		for i := uint64(1); i <= 8; i++ {
			s, _, _ := startTheta("", o, seedVal+i)
			starts = append(starts, s)
		}
		p, tried, err := landscape.OtherMinimum(e.ctx, w, a, starts)
		if err != nil {
			return nil, tried, badInput(err)
		}
		notes = tried
		b = p.Theta
	}
	br, err := landscape.FindBarrier(e.ctx, w, a, b)
	return br, notes, badInput(err)
}

func neg(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

type barrierCmd struct {
	problemFlags
	barrierFlags
	Seed uint64 `help:"Seed of the initialisations." default:"1"`
	Out  string `help:"Directory for barrier.json, path.csv, min_a.npy, min_b.npy and saddle.npy." placeholder:"DIR"`
}

type barrierRecord struct {
	Command string             `json:"command"`
	Version string             `json:"version"`
	Model   string             `json:"model"`
	Data    string             `json:"data"`
	Barrier *landscape.Barrier `json:"barrier"`
	Theory  theory.Barrier     `json:"theory_inputs"`
	Notes   []string           `json:"notes,omitempty"`
	Outputs map[string]string  `json:"outputs,omitempty"`
}

func (c *barrierCmd) Run(e *env) error {
	o, err := c.build(e)
	if err != nil {
		return err
	}
	w := o.NewWorker(2, 0)
	bar := e.prog.Bar(-1, "barrier")
	br, notes, err := c.findBarrier(e, o, w, c.Seed)
	bar.Done()
	if err != nil {
		return err
	}
	rec := barrierRecord{Command: "barrier", Version: version, Model: o.Model.Spec(), Data: o.Data.Spec, Barrier: br, Theory: br.Theory(), Notes: notes}
	if c.Out != "" {
		rec.Outputs = map[string]string{}
		for name, th := range map[string][]float64{"min_a": br.MinA.Theta, "min_b": br.MinB.Theta, "saddle": br.Saddle.Theta} {
			p := filepath.Join(c.Out, name+".npy")
			if err := npy.WriteFile(p, npy.Vector(th)); err != nil {
				return err
			}
			rec.Outputs[name] = p
		}
		rows := make([][]float64, len(br.Path.Losses))
		for i, l := range br.Path.Losses {
			rows[i] = []float64{float64(i), l}
		}
		p := filepath.Join(c.Out, "path.csv")
		if err := report.WriteCSV(p, []string{"image", "loss"}, rows); err != nil {
			return err
		}
		rec.Outputs["path"] = p
		p = filepath.Join(c.Out, "barrier.json")
		rec.Outputs["record"] = p
		if err := report.WriteJSON(p, rec); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.writeJSON(rec)
	}
	s := br.Saddle
	fmt.Fprintf(e.out, "barrier of %s on %s\n", rec.Model, rec.Data)
	fmt.Fprintf(e.out, "  minimum A: L* = %.6g, Hessian eigenvalues %s\n", br.MinA.Loss, fmtList(br.MinA.Eigs[:min(len(br.MinA.Eigs), 8)]))
	fmt.Fprintf(e.out, "  minimum B: L  = %.6g\n", br.MinB.Loss)
	fmt.Fprintf(e.out, "  saddle:    L^s = %.6g, |grad| = %.2g, index %d, negative eigenvalue %.6g, eigenvalues %s\n", s.Loss, s.GradNorm, s.Index, s.NegEig, fmtList(s.Eigs[:min(len(s.Eigs), 8)]))
	fmt.Fprintf(e.out, "  Delta L = %.6g, Delta log L = log(L^s/L*) = %.6g\n", br.DeltaL, br.DeltaLogL)
	fmt.Fprintf(e.out, "  theory inputs: h* = %.5g, n = %d, det ratio = %.5g, |h_e^s| = %.5g\n", rec.Theory.HStar, rec.Theory.N, rec.Theory.DetRatio, rec.Theory.HSaddleNeg)
	for _, t := range br.Tried {
		fmt.Fprintln(e.out, "  tried:", t)
	}
	printOutputs(e, rec.Outputs)
	return nil
}
