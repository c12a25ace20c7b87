package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/safetensors"
	"github.com/sgdlab/sgdlab/store"
	"github.com/sgdlab/sgdlab/study"
)

// problemFlags name the model, the data and the loss of a command.
type problemFlags struct {
	Model   string `help:"${problem_model}" default:"linear"`
	Data    string `help:"${problem_data}" default:"gauss:N=10000,d=1"`
	Loss    string `help:"Loss: mse (1/2 |f - y|^2) or ce (softmax cross-entropy)." default:"mse" enum:"mse,ce"`
	Weights string `help:"${problem_weights}" placeholder:"FILE.safetensors"`
}

// paramsName names where the parameters of params come from, for the summaries.
func (p problemFlags) paramsName(arg string) string {
	if p.Weights != "" {
		return p.Weights + " (PyTorch state dict)"
	}
	return arg
}

// params resolves the parameter vector of a command's own flag (a .npy file or numbers), or
// of --weights: a PyTorch state dict (safetensors) of Linear and Conv2d layers read into
// the model's layout. Both at once is an error.
func (p problemFlags) params(flag, arg string) ([]float64, error) {
	if p.Weights == "" {
		return vector(flag, arg)
	}
	if arg != "" {
		return nil, fault.Invalid("give %s or --weights, not both", flag)
	}
	f, err := safetensors.Read(p.Weights)
	if err != nil {
		return nil, fmt.Errorf("--weights: %w", err)
	}
	m, err := model.ModelForWeights(p.Model, f)
	if err != nil {
		return nil, fmt.Errorf("--weights: %w", err)
	}
	theta, err := model.LoadStateDict(m, f)
	if err != nil {
		return nil, fmt.Errorf("--weights: %w", err)
	}
	return theta, nil
}

func (p problemFlags) problem() study.Problem {
	return study.Problem{Model: p.Model, Data: p.Data, Loss: p.Loss}
}

// sgdFlags are the hyperparameters shared by every command that runs SGD.
type sgdFlags struct {
	Eta      float64 `help:"Learning rate eta (> 0)." required:""`
	Batch    int     `help:"Mini-batch size B (1 <= B <= N)." default:"1"`
	Sampling string  `help:"${sgd_sampling}" default:"epoch" enum:"epoch,replacement"`
	Momentum float64 `help:"${sgd_momentum}" default:"0"`
	Seed     uint64  `help:"Master seed: initial parameters and batch order derive from it." default:"1"`
}

// check validates the values with the flag names the user typed.
func (f sgdFlags) check() error {
	return firstErr(finite("--eta", f.Eta, 0, false), intRange("--batch", int64(f.Batch), 1, math.MaxInt32),
		finite("--momentum", f.Momentum, 0, true), cond(f.Momentum < 1, "--momentum %v must be below 1", f.Momentum))
}

// dynFlags choose the dynamics of the stationary and escape commands.
type dynFlags struct {
	Dynamics      string  `help:"${dyn_dynamics}" default:"sgd" enum:"sgd,sde,decoupled,logland,langevin"`
	Scheme        string  `help:"${dyn_scheme}" default:"ito" enum:"ito,stratonovich"`
	Substeps      int     `help:"SDE steps per SGD step (the SDE step is eta/substeps)." default:"1"`
	Eps           float64 `help:"${dyn_eps}" default:"0"`
	Temperature   float64 `help:"${dyn_temperature}" default:"0"`
	LangevinNoise string  `help:"${dyn_langevinnoise}" default:"isotropic" enum:"isotropic,hessian" name:"langevin-noise"`
	Start         string  `help:"${dyn_start}" placeholder:"FILE.npy|a,b,..."`
	Workers       int     `help:"Parallel workers (results do not depend on it; 0: one per core)." default:"0"`
}

func (d dynFlags) check() error {
	return firstErr(intRange("--substeps", int64(d.Substeps), 1, 1<<20), finite("--eps", d.Eps, 0, true),
		finite("--temperature", d.Temperature, 0, true), intRange("--workers", int64(d.Workers), 0, 4096))
}

func (d dynFlags) dynamics(s sgdFlags) study.Dynamics {
	return study.Dynamics{Kind: d.Dynamics, Eta: s.Eta, Batch: s.Batch, Sampling: s.Sampling, Momentum: s.Momentum,
		Scheme: d.Scheme, Substeps: d.Substeps, Eps: d.Eps, Temperature: d.Temperature,
		LangevinHessian: d.LangevinNoise == "hessian"}
}

func (d dynFlags) workers() int {
	if d.Workers > 0 {
		return d.Workers
	}
	return numCPU()
}

// probeFlags drive the stochastic estimates (random probe vectors) of noise and spectrum.
type probeFlags struct {
	Probes int    `help:"Random probes of the stochastic estimates (traces, densities, overlaps; >= 2)." default:"30"`
	Seed   uint64 `help:"Seed of the initialisation and the random probes." default:"1"`
}

// storeFlags attach a run store and a shard to ensemble commands.
type storeFlags struct {
	Store string `help:"${store_store}" placeholder:"FILE.db"`
	Shard string `help:"${store_shard}" placeholder:"i/n"`
}

// open returns the ensemble environment (the store opened or created before any work);
// close must be called when done.
func (f storeFlags) open(version string, workers int) (ensemble.Env, func(), error) {
	sh, err := shardOf(f.Shard)
	if err != nil {
		return ensemble.Env{}, nil, err
	}
	ens := ensemble.Env{Shard: sh, Version: version, Workers: workers}
	if f.Store == "" {
		if sh.N > 1 {
			return ens, nil, fault.Invalid(
				"--shard needs --store: each shard's trajectories must be recorded to be merged",
			)
		}
		return ens, func() {}, nil
	}
	s, err := store.Open(f.Store)
	if err != nil {
		return ens, nil, fmt.Errorf("--store: %w", err)
	}
	ens.Store = s
	return ens, func() { s.Close() }, nil
}

// ensemble reads --start and opens the store of an ensemble command, and returns the study
// environment with progress on a bar counting what; close must be called when done.
func (e *env) ensemble(p problemFlags, d dynFlags, s storeFlags, what string) ([]float64, study.Env, bar, func(),
	error) {
	start, err := p.params("--start", d.Start)
	if err != nil {
		return nil, study.Env{}, bar{}, nil, err
	}
	ens, closeStore, err := s.open(version+"+"+buildRevision(), d.workers())
	if err != nil {
		return nil, study.Env{}, bar{}, nil, err
	}
	b := e.prog.Bar(-1, what)
	ens.Progress = func(done, total int64) { b.Progress(done, total, what) }
	senv := e.studyEnv(b)
	senv.Ens = ens
	return start, senv, b, closeStore, nil
}

// shardOf parses --shard, or reads the shard from a Slurm job array (SLURM_ARRAY_TASK_ID
// with SLURM_ARRAY_TASK_COUNT, or _MIN and _MAX) or a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX with SGDLAB_SHARDS).
func shardOf(flag string) (ensemble.Shard, error) {
	if flag != "" {
		sh, err := ensemble.ParseShard(flag)
		if err != nil {
			return sh, fmt.Errorf("--shard: %w", err)
		}
		return sh, nil
	}
	if id := os.Getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		i, err := strconv.Atoi(id)
		if err != nil {
			return ensemble.All, fault.Invalid("SLURM_ARRAY_TASK_ID=%q is not an integer", id)
		}
		if c := os.Getenv("SLURM_ARRAY_TASK_COUNT"); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil || n < 1 {
				return ensemble.All, fault.Invalid("SLURM_ARRAY_TASK_COUNT=%q is not a positive integer", c)
			}
			lo, _ := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MIN"))
			if i-lo < 0 || i-lo >= n {
				return ensemble.All, fault.Invalid(
					"SLURM_ARRAY_TASK_ID=%d is outside the array of %d tasks from %d (SLURM_ARRAY_TASK_COUNT, "+
						"_MIN): pass --shard i/n",
					i,
					n,
					lo,
				)
			}
			return ensemble.Shard{I: i - lo, N: n}, nil
		}
		lo, e1 := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MIN"))
		hi, e2 := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MAX"))
		if e1 != nil || e2 != nil {
			return ensemble.All, fault.Invalid("SLURM_ARRAY_TASK_ID=%d is set but neither SLURM_ARRAY_TASK_COUNT "+
				"nor _MIN and _MAX: pass --shard i/n", i)
		}
		if i < lo || i > hi {
			return ensemble.All, fault.Invalid("SLURM_ARRAY_TASK_ID=%d is outside SLURM_ARRAY_TASK_MIN..MAX = "+
				"%d..%d: pass --shard i/n", i, lo, hi)
		}
		return ensemble.Shard{I: i - lo, N: hi - lo + 1}, nil
	}
	if id := os.Getenv("JOB_COMPLETION_INDEX"); id != "" {
		i, err1 := strconv.Atoi(id)
		n, err2 := strconv.Atoi(os.Getenv("SGDLAB_SHARDS"))
		switch {
		case err1 != nil:
			return ensemble.All, fault.Invalid("JOB_COMPLETION_INDEX=%q is not an integer", id)
		case err2 != nil || n < 1:
			return ensemble.All, fault.Invalid("JOB_COMPLETION_INDEX=%d is set: set SGDLAB_SHARDS to the Job's "+
				"completions (or pass --shard i/n)", i)
		case i < 0 || i >= n:
			return ensemble.All, fault.Invalid("JOB_COMPLETION_INDEX=%d is outside 0..SGDLAB_SHARDS-1 = %d", i, n-1)
		}
		return ensemble.Shard{I: i, N: n}, nil
	}
	return ensemble.All, nil
}

// outDir checks that an output directory can be created and written, before any work.
func outDir(flag, dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fault.Invalid("%s %s: %v", flag, dir, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".sgdlab-check-*")
	if err != nil {
		return fault.Invalid("%s %s is not writable: %v", flag, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// outFile checks that a file can be written at path, before any work.
func outFile(flag, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fault.Invalid("%s %s is a directory: give a file name", flag, path)
	}
	return outDir(flag, filepath.Dir(path))
}

// vector reads a parameter vector given to flag: a .npy file or comma-separated numbers.
// Its length is checked against the model by the study.
func vector(flag, arg string) ([]float64, error) {
	if arg == "" {
		return nil, nil
	}
	var v []float64
	if strings.HasSuffix(arg, ".npy") {
		a, err := npy.ReadFile(arg)
		if err != nil {
			return nil, fault.Invalid("%s: %v", flag, err)
		}
		v = a.Data
	} else {
		for _, f := range strings.Split(arg, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, fault.Invalid("%s %q is neither a .npy file nor a comma-separated list of numbers", flag,
					arg)
			}
			v = append(v, x)
		}
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fault.Invalid("%s: entry %d of %d is %v; parameters must be finite", flag, i+1, len(v), x)
		}
	}
	return v, nil
}

// finite checks a number flag: finite and above lo (or equal when orEqual).
func finite(flag string, v, lo float64, orEqual bool) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fault.Invalid("%s %v must be a finite number", flag, v)
	}
	if v < lo || (!orEqual && v == lo) {
		op := ">"
		if orEqual {
			op = ">="
		}
		return fault.Invalid("%s %v must be %s %g", flag, v, op, lo)
	}
	return nil
}

// intRange checks an integer flag.
func intRange(flag string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fault.Invalid("%s %d must be between %d and %d", flag, v, lo, hi)
	}
	return nil
}

func cond(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fault.Invalid(format, args...)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
