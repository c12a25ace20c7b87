package main

import (
	"fmt"
	"path/filepath"

	"github.com/sgdlab/sgdlab/experiment"
	"github.com/sgdlab/sgdlab/fault"
)

type reproduceCmd struct {
	IDs     []string `arg:"" optional:"" help:"${reproduce_ids}" name:"experiments"`
	Quick   bool     `help:"Quick settings (the default): all experiments in minutes, conclusions visible."`
	Full    bool     `help:"The paper's scale (hours)."`
	Out     string   `help:"${reproduce_out}" default:"out/reproduce"`
	Params  string   `help:"${reproduce_params}" placeholder:"PATH"`
	Workers int      `help:"Parallel workers for ensembles (0: one per core)." default:"0"`
	storeFlags
}

func (c *reproduceCmd) Run(e *env) error {
	if c.Quick && c.Full {
		return fault.Invalid("choose --quick or --full, not both")
	}
	if err := firstErr(intRange("--workers", int64(c.Workers), 0, 4096), outDir("--out", c.Out)); err != nil {
		return err
	}
	exps, err := experiment.Find(c.IDs)
	if err != nil {
		return err
	}
	params, err := experiment.Plan(exps, c.Full, c.Params)
	if err != nil {
		return fmt.Errorf("--params: %w", err)
	}
	if c.Store == "" {
		c.Store = filepath.Join(c.Out, "runs.db")
	}
	workers := c.Workers
	if workers <= 0 {
		workers = numCPU()
	}
	ens, closeStore, err := c.open(version+"+"+buildRevision(), workers)
	if err != nil {
		return err
	}
	defer closeStore()
	bar := e.prog.Bar(1000, "reproduce")
	senv := e.studyEnv(bar)
	senv.Ens = ens
	t0 := now()
	rep, err := experiment.Reproduce(e.ctx, exps, params, experiment.SuiteOptions{
		Out: c.Out, Full: c.Full, Study: senv, Version: version + "+" + buildRevision(),
		Progress: func(stage string, frac float64) {
			bar.Describe(stage)
			bar.Set(int64(1000 * frac))
		},
	})
	bar.Done()
	if rep == nil {
		return err
	}
	if cerr := e.check(rep); cerr != nil {
		return cerr
	}
	if e.g.JSON {
		if jerr := e.writeJSON(rep); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintf(e.out, "reproduced %d experiment(s) in %.0fs (%s mode) -> %s\n", len(rep.Results), since(t0),
			rep.Mode, filepath.Join(c.Out, "index.html"))
		for _, r := range rep.Results {
			fmt.Fprintln(e.out, "  "+experiment.Headline(r))
		}
	}
	if err != nil {
		return fmt.Errorf("reproduce: %w (the report holds the experiments that finished; their measurements are "+
			"in %s)", err, c.Store)
	}
	return nil
}
