// Command sgdlab is the command-line laboratory for the dynamics of stochastic gradient
// descent: train models, measure SGD noise and curvature, simulate stationary
// distributions and escapes, solve the SGD Markov chain, and reproduce the paper by Mori,
// Ziyin, Liu and Ueda. It is a thin layer over package study: flags, output, exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
)

// cli is the command tree; each subcommand's Run method does its work.
type cli struct {
	// How results are shown.
	JSON  bool `help:"Print one JSON record on stdout instead of the human-readable summary."`
	Quiet bool `help:"No progress display even on a terminal."`
	// Where datasets that do not ship with sgdlab are.
	FashionDir string `help:"${global_fashiondir}" name:"fashion-dir" placeholder:"DIR"`
	CIFARDir   string `help:"${global_cifardir}" name:"cifar-dir" placeholder:"DIR"`
	// What the machine may give.
	MaxMemory   string `help:"${global_maxmemory}" name:"max-memory" placeholder:"SIZE"`
	BLASThreads int    `help:"${global_blasthreads}" name:"blas-threads" default:"0"`

	// The paper, from one command.
	Reproduce reproduceCmd `cmd:"" help:"${global_reproduce}"`
	// Training, and measurements at a point of the landscape.
	Train    trainCmd    `cmd:"" help:"Train a model with SGD and save theta, the loss curve and a JSON record."`
	Noise    noiseCmd    `cmd:"" help:"${global_noise}"`
	Spectrum spectrumCmd `cmd:"" help:"${global_spectrum}"`
	Barrier  barrierCmd  `cmd:"" help:"${global_barrier}"`
	// Ensembles of the dynamics, and the predictions they are compared with.
	Stationary stationaryCmd `cmd:"" help:"${global_stationary}"`
	Escape     escapeCmd     `cmd:"" help:"${global_escape}"`
	Chain      chainCmd      `cmd:"" help:"${global_chain}"`
	Theory     theoryCmd     `cmd:"" help:"Print the theory's predictions for given eta, B, h*, n, L*, L^s."`
	// Run stores.
	Runs  runsCmd  `cmd:"" help:"List the runs in a store, or export one run's trajectories (CSV/JSON)."`
	Merge mergeCmd `cmd:"" help:"Merge shard stores into one."`

	Version versionCmd `cmd:"" help:"Print the sgdlab version."`
}

// Exit statuses.
const (
	exitFailure     = 1 // an unexpected failure (I/O error, internal error)
	exitBadInput    = 2 // the user's input is invalid: spec, shapes, values, files, sizes
	exitDiverged    = 3 // a run diverged
	exitInterrupted = 130
)

// env is what every command receives: global flags, the context and output streams.
type env struct {
	ctx  context.Context
	g    *cli
	out  io.Writer
	err  io.Writer // stderr: the one-line notices of long work (not with --quiet)
	prog progressor
	max  int64 // --max-memory in bytes (0: the memory available)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status. A panic (a bug) becomes a
// one-line internal error, never a stack trace.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if p := fault.Recovered(recover()); p != nil {
			status = exitStatus(stderr, p)
		}
	}()
	var c cli
	parser, err := kong.New(
		&c,
		kong.Name("sgdlab"),
		kong.Description(
			"A laboratory for the dynamics of stochastic gradient descent (Mori, Ziyin, Liu, Ueda, arXiv:2105.09557).",
		),
		kong.Writers(stdout, stderr),
		kong.Vars(helpVars),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
	)
	if err != nil {
		fmt.Fprintln(stderr, "sgdlab: internal error:", err)
		return exitFailure
	}
	var kctx *kong.Context
	if code, exited := catchExit(func() { kctx, err = parser.Parse(args) }); exited {
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "sgdlab: %s (see sgdlab --help)\n", firstLine(err.Error()))
		return exitBadInput
	}
	out := &checkedWriter{w: stdout}
	e := &env{g: &c, out: out, err: stderr, prog: newProgressor(c.Quiet || c.JSON)}
	if c.MaxMemory != "" {
		if e.max, err = memory.ParseSize(c.MaxMemory); err != nil {
			return exitStatus(stderr, fault.Invalid("--max-memory: %v", err))
		}
	}
	if c.BLASThreads < 0 || c.BLASThreads > 4096 {
		return exitStatus(stderr, fault.Invalid("--blas-threads %d must be between 0 and 4096", c.BLASThreads))
	}
	if c.BLASThreads > 0 {
		model.SetBLASThreads(c.BLASThreads)
	}
	if path := os.Getenv("SGDLAB_CPUPROFILE"); path != "" {
		// A CPU profile of the whole command, for `go tool pprof` (docs/design.md, "Profiling").
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e.ctx = ctx
	err = runInterruptible(ctx, func() error { return kctx.Run(e) })
	if err == nil && out.err != nil {
		// The summary was lost (a full disk, a closed pipe): that is a failure, not success.
		err = fmt.Errorf("writing the output: %w", out.err)
	}
	return exitStatus(stderr, err)
}

// checkedWriter remembers the first error of the writes through it, so that output lost on
// the way (stdout redirected to a full disk) is reported and turns the exit status non-zero.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// interruptGrace is how long a command may take to stop by itself after an interrupt:
// long loops check the context, but a few library calls (a dense eigendecomposition, one
// large product) cannot stop halfway; after the grace they are abandoned. Everything a
// command keeps (store records, output files) is written atomically, so abandoning one
// loses nothing that was finished.
const interruptGrace = 700 * time.Millisecond

// runInterruptible runs fn and returns its error, or an interruption error when ctx is
// cancelled and fn does not return within interruptGrace.
func runInterruptible(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() { done <- err }()
		defer fault.Catch(&err)
		err = fn()
	}()
	select {
	case err := <-done:
		return interrupted(ctx, err)
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return interrupted(ctx, err)
	case <-time.After(interruptGrace):
		return fmt.Errorf("interrupted: the computation in progress was abandoned; finished results are kept: %w",
			ctx.Err())
	}
}

// interrupted words an interruption that a command reported without saying so.
func interrupted(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) &&
		!strings.Contains(err.Error(), "interrupt") {
		return fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// kongExit carries the status of kong's own exits (--help) through a panic.
type kongExit int

func catchExit(fn func()) (code int, exited bool) {
	defer func() {
		if r := recover(); r != nil {
			k, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code, exited = int(k), true
		}
	}()
	fn()
	return 0, false
}

// exitStatus prints err (its first line) and maps its class to the exit status: the one
// place where errors become statuses.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var p *fault.PanicError
	if errors.As(err, &p) {
		// A bug: one line, and the stack where it happened when SGDLAB_DEBUG is set.
		fmt.Fprintf(stderr, "sgdlab: internal error (please report it with the command line): %s\n",
			firstLine(fmt.Sprint(p.Value)))
		if os.Getenv("SGDLAB_DEBUG") != "" {
			stderr.Write(p.Stack)
		}
		return exitFailure
	}
	msg := firstLine(err.Error())
	if f := fault.FieldOf(err); f != "" && !strings.Contains(msg, "--"+f) {
		msg = "--" + f + ": " + msg // the library names the field; the user typed the flag
	}
	fmt.Fprintln(stderr, "sgdlab:", msg)
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, fault.ErrDiverged):
		return exitDiverged
	case errors.Is(err, fault.ErrInvalid):
		return exitBadInput
	}
	return exitFailure
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// studyEnv is the study environment of a command: data locations, the memory cap, progress
// messages on the given bar and, unless --quiet, notices of long work on stderr.
func (e *env) studyEnv(b bar) study.Env {
	env := study.Env{Data: data.Options{FashionDir: e.g.FashionDir, CIFARDir: e.g.CIFARDir}, MaxMemory: e.max,
		Stage: b.Describe}
	if !e.g.Quiet {
		env.Notice = func(msg string) { fmt.Fprintln(e.err, "sgdlab: note: "+msg) }
	}
	return env
}

// check verifies every number of a command's result before anything of it is written or
// printed (num.Check): a result that fails is a bug, reported as one, never shown as a result.
func (e *env) check(rec any) error {
	if err := num.Check(rec); err != nil {
		return fmt.Errorf("internal error (please report it with the command line): the result failed its "+
			"check: %w", err)
	}
	return nil
}

// writeJSON prints rec as one indented JSON record (--json mode), after checking it.
func (e *env) writeJSON(rec any) error {
	if err := e.check(rec); err != nil {
		return err
	}
	b, err := report.JSON(rec)
	if err != nil {
		return err
	}
	_, err = e.out.Write(b)
	return err
}
