package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/noise"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/seed"
	"github.com/sgdlab/sgdlab/sgd"
)

// sgdFlags are the hyperparameters shared by every command that runs SGD.
type sgdFlags struct {
	Eta      float64 `help:"Learning rate eta (> 0)." required:""`
	Batch    int     `help:"Mini-batch size B (1 <= B <= N)." default:"1"`
	Sampling string  `help:"epoch: random partition into N/B batches per epoch (the paper's setting); replacement: B i.i.d. indices per step." default:"epoch" enum:"epoch,replacement"`
	Momentum float64 `help:"Heavy-ball momentum in [0, 1) (0: plain SGD, the dynamics of THEORY.md)." default:"0"`
	Seed     uint64  `help:"Master seed: initial parameters and batch order derive from it." default:"1"`
}

func (f sgdFlags) config() (sgd.Config, error) {
	s, err := sgd.ParseSampling(f.Sampling)
	return sgd.Config{Eta: f.Eta, Batch: f.Batch, Sampling: s, Momentum: f.Momentum}, err
}

type trainCmd struct {
	problemFlags
	sgdFlags
	Epochs      float64 `help:"Training length in epochs of floor(N/B) steps (used when --steps is 0)." default:"1"`
	Steps       int64   `help:"Training length in SGD steps (overrides --epochs)." default:"0"`
	LogEvery    int64   `name:"log-every" help:"Record the full-data loss every this many steps (0: once per epoch)." default:"0"`
	Init        string  `help:"Start from the parameters in this .npy file instead of the model's initialisation." type:"existingfile" placeholder:"FILE.npy"`
	RecordNoise int64   `name:"record-noise" help:"Record Noise = (1/N) sum |grad l|^2 - |grad L|^2 and L every this many epochs (0: never); written to noise.csv." default:"0"`
	Out         string  `help:"Directory for theta.npy, loss.csv and run.json." placeholder:"DIR"`
}

// trainRecord is the JSON record of a training run; field names are the public format.
type trainRecord struct {
	Command     string            `json:"command"`
	Version     string            `json:"version"`
	Model       string            `json:"model"`
	Data        string            `json:"data"`
	Loss        string            `json:"loss"`
	N           int               `json:"N"`
	P           int               `json:"P"`
	Eta         float64           `json:"eta"`
	Batch       int               `json:"batch"`
	Sampling    string            `json:"sampling"`
	Momentum    float64           `json:"momentum"`
	Seed        uint64            `json:"seed"`
	Init        string            `json:"init"`
	Steps       int64             `json:"steps"`
	Epochs      float64           `json:"epochs"`
	Time        float64           `json:"t"`
	InitialLoss report.Float      `json:"initial_loss"`
	FinalLoss   report.Float      `json:"final_loss"`
	Elapsed     float64           `json:"elapsed_s"`
	StepsPerSec float64           `json:"steps_per_s"`
	Conventions map[string]string `json:"conventions"`
	Outputs     map[string]string `json:"outputs,omitempty"`
	Error       string            `json:"error,omitempty"`
}

func conventions(loss string, sampling string) map[string]string {
	c := map[string]string{
		"sampling": sampling + " (" + map[string]string{"epoch": "random partition into floor(N/B) batches per epoch, without replacement", "replacement": "B i.i.d. indices per step"}[sampling] + ")",
		"time":     "t = eta * steps",
	}
	if loss == "ce" {
		c["loss"] = "L = (1/N) sum_mu -log softmax(f_mu)[y_mu]"
	} else {
		c["loss"] = "L = (1/N) sum_mu 1/2 |f_mu - y_mu|^2 (no averaging over outputs)"
	}
	return c
}

func (c *trainCmd) Run(e *env) error {
	o, err := c.build(e)
	if err != nil {
		return err
	}
	cfg, err := c.config()
	if err != nil {
		return badInput(err)
	}
	if err := cfg.Validate(o.N()); err != nil {
		return badInput(err)
	}
	steps := c.Steps
	spe := int64(sgd.StepsPerEpoch(o.N(), cfg.Batch))
	if steps <= 0 {
		if c.Epochs <= 0 {
			return badInput(errors.New("give a positive --epochs or --steps"))
		}
		steps = int64(c.Epochs*float64(spe) + 0.5)
	}
	logEvery := c.LogEvery
	if logEvery <= 0 {
		logEvery = spe
	}
	theta := make([]float64, o.P())
	initName := "model default (" + initDescription(o.Model) + ")"
	if c.Init != "" {
		if theta, err = loadTheta(c.Init, o); err != nil {
			return err
		}
		initName = c.Init
	} else {
		o.Model.Init(theta, seed.Stream(c.Seed, seed.Init))
	}
	bar := e.prog.Bar(steps, "train")
	obs := []sgd.Observation{{Every: max(1, steps/200), Fn: func(k int64, _ []float64, _ float64) error { bar.Set(k); return nil }}}
	var track *noise.Track
	if c.RecordNoise > 0 {
		_, mse := o.Loss.(model.MSE)
		track = noise.NewTrack(o, cfg.Sampling, cfg.Batch, mse)
		obs = append(obs, sgd.Observation{Every: c.RecordNoise * spe, AtStart: true, Fn: track.Observe})
	}
	start := time.Now()
	tr, runErr := sgd.Train(e.ctx, o, theta, cfg, steps, logEvery, seed.Stream(c.Seed, seed.Batches), obs...)
	bar.Done()
	elapsed := time.Since(start).Seconds()
	rec := trainRecord{
		Command: "train", Version: version, Model: o.Model.Spec(), Data: o.Data.Spec, Loss: o.Loss.Name(),
		N: o.N(), P: o.P(), Eta: cfg.Eta, Batch: cfg.Batch, Sampling: cfg.Sampling.String(), Momentum: cfg.Momentum,
		Seed: c.Seed, Init: initName, Steps: tr.Steps, Epochs: float64(tr.Steps) / float64(spe), Time: tr.Time,
		Elapsed: elapsed, StepsPerSec: float64(tr.Steps) / elapsed, Conventions: conventions(o.Loss.Name(), cfg.Sampling.String()),
	}
	if n := len(tr.Curve); n > 0 {
		rec.InitialLoss, rec.FinalLoss = report.Float(tr.Curve[0].Loss), report.Float(tr.Curve[n-1].Loss)
	}
	if runErr != nil {
		rec.Error = runErr.Error()
		var de *sgd.DivergenceError
		if errors.As(runErr, &de) {
			rec.FinalLoss = report.Float(math.NaN())
		}
	}
	if c.Out != "" {
		if err := writeTrainOutputs(c.Out, &rec, theta, tr, runErr); err != nil {
			return err
		}
		if track != nil {
			if err := writeTrack(c.Out, track, rec.Outputs); err != nil {
				return err
			}
			report.WriteJSON(rec.Outputs["record"], rec)
		}
	}

	if e.g.JSON {
		if err := e.writeJSON(rec); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.out, "trained %s on %s (N=%d, P=%d) with %s loss\n", rec.Model, rec.Data, rec.N, rec.P, rec.Loss)
		fmt.Fprintf(e.out, "  SGD eta=%g B=%d sampling=%s momentum=%g seed=%d\n", cfg.Eta, cfg.Batch, rec.Sampling, cfg.Momentum, c.Seed)
		fmt.Fprintf(e.out, "  %d steps = %.3g epochs, t = eta*steps = %.4g, in %.2fs (%.0f steps/s)\n", rec.Steps, rec.Epochs, rec.Time, elapsed, rec.StepsPerSec)
		fmt.Fprintf(e.out, "  loss L: %.6g -> %.6g\n", float64(rec.InitialLoss), float64(rec.FinalLoss))
		if track != nil {
			for _, p := range track.Points {
				fmt.Fprintf(e.out, "  epoch %6.2f: L = %.6g  Noise = %.6g\n", p.Epoch, p.Loss, p.Noise)
			}
		}
		printOutputs(e, rec.Outputs)
	}
	if runErr != nil && errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("interrupted after %d steps; results so far are saved: %w", tr.Steps, runErr)
	}
	return runErr
}

func initDescription(m model.Model) string {
	switch m.(type) {
	case *model.MLP:
		if m.Spec() == "linear" || m.Spec() == "linear:bias" {
			return "zeros"
		}
		return "Glorot uniform weights, zero biases"
	case *model.DoubleWell:
		return "the minimum theta_1 = +sqrt(a)"
	}
	return "model default"
}

// writeTrainOutputs saves the loss curve and the record always, and theta unless the run
// diverged (a non-finite theta is of no use).
func writeTrainOutputs(dir string, rec *trainRecord, theta []float64, tr sgd.TrainResult, runErr error) error {
	rec.Outputs = map[string]string{}
	rows := make([][]float64, len(tr.Curve))
	for i, p := range tr.Curve {
		rows[i] = []float64{float64(p.Step), p.Epoch, p.Time, p.Loss}
	}
	lossPath := filepath.Join(dir, "loss.csv")
	if err := report.WriteCSV(lossPath, []string{"step", "epoch", "t", "loss"}, rows); err != nil {
		return err
	}
	rec.Outputs["loss_curve"] = lossPath
	var de *sgd.DivergenceError
	if !errors.As(runErr, &de) {
		p := filepath.Join(dir, "theta.npy")
		if err := npy.WriteFile(p, npy.Vector(theta)); err != nil {
			return err
		}
		rec.Outputs["theta"] = p
	}
	p := filepath.Join(dir, "run.json")
	rec.Outputs["record"] = p
	return report.WriteJSON(p, rec)
}

// writeTrack writes the noise track as noise.csv.
func writeTrack(dir string, t *noise.Track, out map[string]string) error {
	rows := make([][]float64, len(t.Points))
	for i, p := range t.Points {
		rows[i] = []float64{float64(p.Step), p.Epoch, p.Loss, p.Noise, p.JacNorm}
	}
	p := filepath.Join(dir, "noise.csv")
	out["noise_track"] = p
	return report.WriteCSV(p, []string{"step", "epoch", "loss", "noise", "jac_norm"}, rows)
}
