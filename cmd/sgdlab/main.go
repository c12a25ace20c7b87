// Command sgdlab is the command-line laboratory for the dynamics of stochastic gradient
// descent: train models, measure SGD noise and curvature, simulate stationary
// distributions and escapes, and reproduce the paper by Mori, Ziyin, Liu and Ueda.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/sgd"
)

// cli is the command tree; each subcommand's Run method does its work.
type cli struct {
	JSON       bool   `help:"Print one JSON record on stdout instead of the human-readable summary."`
	FashionDir string `name:"fashion-dir" help:"Directory with the Fashion-MNIST IDX files (default: Debian's /usr/share/datasets/fashion-mnist)." placeholder:"DIR"`
	CIFARDir   string `name:"cifar-dir" help:"Directory with the CIFAR-10 binary batches (data_batch_1.bin ...)." placeholder:"DIR"`
	Quiet      bool   `help:"No progress display even on a terminal."`

	Reproduce  reproduceCmd  `cmd:"" help:"Run the paper's experiments (and sgdlab's extensions) and write an HTML/JSON report."`
	Version    versionCmd    `cmd:"" help:"Print the sgdlab version."`
	Train      trainCmd      `cmd:"" help:"Train a model with SGD and save theta, the loss curve and a JSON record."`
	Noise      noiseCmd      `cmd:"" help:"Measure the SGD noise covariance against (2L/B) G and (2L/B) H*, and the paper's Fig. 1 spectra."`
	Spectrum   spectrumCmd   `cmd:"" help:"Hessian (or Gauss-Newton) spectrum: top/bottom eigenpairs, traces, density, effective dimension n and h*, per-layer."`
	Stationary stationaryCmd `cmd:"" help:"Sample the stationary distribution of SGD or an SDE model in a valley and fit phi in P ∝ L^-phi."`
	Theory     theoryCmd     `cmd:"" help:"Print every prediction of THEORY.md for given eta, B, h*, n, L*, L^s."`
	Barrier    barrierCmd    `cmd:"" help:"Find two minima and the index-1 saddle between them (NEB with climbing image, then refinement)."`
	Escape     escapeCmd     `cmd:"" help:"Escape ensembles from a minimum: rates with intervals, mean first-passage times, and the power-law and Arrhenius predictions."`
	Runs       runsCmd       `cmd:"" help:"List the runs in a store, or export one run's trajectories (CSV/JSON)."`
	Merge      mergeCmd      `cmd:"" help:"Merge shard stores into one."`
}

// Exit statuses.
const (
	exitFailure     = 1 // an unexpected failure (I/O error, internal error)
	exitBadInput    = 2 // the user's input is invalid: spec, shapes, values, files
	exitDiverged    = 3 // a run diverged
	exitInterrupted = 130
)

// inputError marks errors caused by the user's input (exit status 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// badInput wraps err as an input error (nil stays nil).
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

// env is what every command receives: global flags, the context and output streams.
type env struct {
	ctx  context.Context
	g    *cli
	out  *os.File
	prog progressor
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("sgdlab"),
		kong.Description("A laboratory for the dynamics of stochastic gradient descent (THEORY: Mori, Ziyin, Liu, Ueda, arXiv:2105.09557)."),
		kong.UsageOnError(),
		kong.Exit(func(code int) { os.Exit(code) }),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sgdlab: internal error:", err)
		return exitFailure
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sgdlab:", err)
		return exitBadInput
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{ctx: ctx, g: &c, out: os.Stdout, prog: newProgressor(c.Quiet || c.JSON)}
	err = kctx.Run(e)
	return exitStatus(err)
}

// exitStatus prints err (one line) and maps it to the exit status.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "sgdlab:", err)
	var ie inputError
	var de *sgd.DivergenceError
	switch {
	case errors.As(err, &ie):
		return exitBadInput
	case errors.As(err, &de):
		return exitDiverged
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitFailure
}

// writeJSON prints rec as one indented JSON record (--json mode).
func (e *env) writeJSON(rec any) error {
	b, err := report.JSON(rec)
	if err != nil {
		return err
	}
	_, err = e.out.Write(b)
	return err
}
