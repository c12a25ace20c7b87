package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/safetensors"
	"github.com/sgdlab/sgdlab/study"
)

type trainCmd struct {
	problemFlags
	sgdFlags
	// How long, and from where.
	Epochs float64 `help:"Training length in epochs of floor(N/B) steps (give --epochs or --steps)." default:"0"`
	Steps  int64   `help:"Training length in SGD steps (give --epochs or --steps)." default:"0"`
	Init   string  `help:"${train_init}" placeholder:"FILE.npy"`
	// What is recorded along the way.
	LogEvery    int64 `help:"${train_logevery}" default:"0" name:"log-every"`
	RecordNoise int64 `help:"${train_recordnoise}" default:"0" name:"record-noise"`

	Out string `help:"Directory for theta.npy (and theta.safetensors), loss.csv and run.json." placeholder:"DIR"`
}

// trainRecord is the JSON record of a training run; field names are the public format.
type trainRecord struct {
	header
	*study.TrainRecord
}

// steps converts --epochs or --steps into a step count for N samples and batch B.
func (c *trainCmd) steps(n int) (int64, int64, error) {
	spe := int64(max(n/c.Batch, 1))
	switch {
	case c.Steps != 0 && c.Epochs != 0:
		return 0, 0, fault.Invalid("give --epochs or --steps, not both")
	case c.Steps != 0:
		return c.Steps, spe, intRange("--steps", c.Steps, 1, study.MaxSteps)
	case c.Epochs != 0:
		if err := finite("--epochs", c.Epochs, 0, false); err != nil {
			return 0, 0, err
		}
		s := c.Epochs * float64(spe)
		if s > study.MaxSteps {
			return 0, 0, fault.Invalid("--epochs %g is %.3g steps, more than the limit 2^53", c.Epochs, s)
		}
		return max(int64(s+0.5), 1), spe, nil
	}
	return 0, 0, fault.Invalid("give the training length with --epochs or --steps")
}

func (c *trainCmd) Run(e *env) error {
	if err := firstErr(c.sgdFlags.check(), intRange("--log-every", c.LogEvery, 0, study.MaxSteps),
		intRange("--record-noise", c.RecordNoise, 0, 1<<40), outDir("--out", c.Out)); err != nil {
		return err
	}
	init, err := c.params("--init", c.Init)
	if err != nil {
		return err
	}
	// The data size is needed for the number of steps per epoch: the study loads it again
	// (cheaply) with the memory check.
	bar := e.prog.Bar(-1, "train")
	defer bar.Done()
	senv := e.studyEnv(bar)
	o, err := c.problem().Build(e.ctx, senv)
	if err != nil {
		return err
	}
	if c.Batch > o.N() {
		return fault.Invalid("--batch %d is larger than the dataset (N = %d)", c.Batch, o.N())
	}
	steps, spe, err := c.steps(o.N())
	if err != nil {
		return err
	}
	spec := study.TrainSpec{Problem: c.problem(), Eta: c.Eta, Batch: c.Batch, Sampling: c.Sampling,
		Momentum: c.Momentum, Seed: c.Seed, Steps: steps, LogEvery: c.LogEvery, NoiseEvery: c.RecordNoise * spe,
		Init: init, InitName: c.Init}
	rec, runErr := study.Train(e.ctx, senv, spec)
	bar.Done()
	if rec == nil {
		return runErr
	}
	out := trainRecord{header: newHeader("train"), TrainRecord: rec}
	if err := e.check(out); err != nil {
		return err
	}
	if c.Out != "" {
		if err := writeTrain(c.Out, &out); err != nil {
			return err
		}
	}
	if e.g.JSON {
		if err := e.writeJSON(out); err != nil {
			return err
		}
	} else {
		printTrain(e, &out)
	}
	if errors.Is(runErr, context.Canceled) {
		kept := "nothing was written (no --out)"
		if c.Out != "" {
			kept = "theta, the loss curve and run.json are saved in " + c.Out
		}
		return fmt.Errorf("interrupted after %d steps; %s: %w", rec.Steps, kept, runErr)
	}
	return runErr
}

func printTrain(e *env, r *trainRecord) {
	fmt.Fprintf(e.out, "trained %s on %s (N=%d, P=%d) with %s loss\n", r.Model, r.Data, r.N, r.P, r.Loss)
	fmt.Fprintf(e.out, "  SGD eta=%g B=%d sampling=%s momentum=%g seed=%d; start: %s\n", r.Eta, r.Batch, r.Sampling,
		r.Momentum, r.Seed, r.Init)
	fmt.Fprintf(e.out, "  %d steps = %.3g epochs, t = eta*steps = %.4g, in %.2fs (%.0f steps/s)\n", r.Steps, r.Epochs,
		r.Time, r.Elapsed, r.StepsPerSec)
	final := fv("%.6g", r.FinalLoss)
	if math.IsNaN(float64(r.FinalLoss)) || math.IsInf(float64(r.FinalLoss), 0) {
		final = "not finite (the run diverged)"
	}
	fmt.Fprintf(e.out, "  loss L: %s -> %s\n", fv("%.6g", r.InitialLoss), final)
	for _, p := range r.Noise {
		fmt.Fprintf(e.out, "  epoch %6.2f: L = %.6g  Noise = %.6g\n", p.Epoch, p.Loss, p.Noise)
	}
	printOutputs(e, r.Outputs)
}

// writeTrain saves the loss curve and the record always, theta unless the run diverged (a
// non-finite theta is of no use) and the noise track when recorded.
func writeTrain(dir string, r *trainRecord) error {
	r.Outputs = map[string]string{}
	rows := make([][]float64, len(r.Curve))
	for i, p := range r.Curve {
		rows[i] = []float64{float64(p.Step), p.Epoch, p.Time, p.Loss}
	}
	p := filepath.Join(dir, "loss.csv")
	if err := report.WriteCSV(p, []string{"step", "epoch", "t", "loss"}, rows); err != nil {
		return err
	}
	r.Outputs["loss_curve"] = p
	if r.Theta != nil {
		p = filepath.Join(dir, "theta.npy")
		if err := npy.WriteFile(p, npy.Vector(r.Theta)); err != nil {
			return err
		}
		r.Outputs["theta"] = p
		// The same parameters as a PyTorch state dict, for models made of Linear and Conv2d
		// layers (docs/design.md, "Weights from PyTorch").
		if m, err := model.Parse(r.Model, r.D, r.K); err == nil {
			if sd, err := model.StateDict(m, r.Theta); err == nil {
				p = filepath.Join(dir, "theta.safetensors")
				if err := safetensors.Write(p, sd, map[string]string{"sgdlab_model": r.Model}); err != nil {
					return err
				}
				r.Outputs["theta_safetensors"] = p
			}
		}
	}
	if len(r.Noise) > 0 {
		rows = rows[:0]
		for _, pt := range r.Noise {
			rows = append(rows, []float64{float64(pt.Step), pt.Epoch, pt.Loss, pt.Noise, pt.JacNorm})
		}
		p = filepath.Join(dir, "noise.csv")
		if err := report.WriteCSV(p, []string{"step", "epoch", "loss", "noise", "jac_norm"}, rows); err != nil {
			return err
		}
		r.Outputs["noise_track"] = p
	}
	p = filepath.Join(dir, "run.json")
	r.Outputs["record"] = p
	return report.WriteJSON(p, r)
}
