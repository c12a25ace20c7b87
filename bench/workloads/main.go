// Command workloads times sgdlab on the benchmark workloads of BENCHMARKS.md and prints one
// JSON object per workload. The harness (bench/harness) builds it twice, pure Go and with
// -tags openblas, and runs it beside the PyTorch and NumPy peers. It also writes the data
// the peers must use (-data DIR) so that both sides compute on identical numbers.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/sgdlab/sgdlab/curvature"
	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/gram"
	"github.com/sgdlab/sgdlab/internal/linalg"
	"github.com/sgdlab/sgdlab/model"
	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/safetensors"
	"github.com/sgdlab/sgdlab/sgd"
	"github.com/sgdlab/sgdlab/study"
)

type result struct {
	Impl     string         `json:"impl"`
	Workload string         `json:"workload"`
	Seconds  float64        `json:"seconds"`
	Extra    map[string]any `json:"extra,omitempty"`
}

var impl = "sgdlab-" + map[bool]string{true: "openblas", false: "purego"}[model.BLAS != "gonum (pure Go)"]

// best returns the best time of fn over reps runs (each at least once).
func best(reps int, fn func()) float64 {
	b := 1e300
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		fn()
		b = min(b, time.Since(t0).Seconds())
	}
	return b
}

func emit(w string, s float64, extra map[string]any) {
	b, _ := json.Marshal(result{Impl: impl, Workload: w, Seconds: s, Extra: extra})
	fmt.Println(string(b))
}

func e1(n int) (*model.Objective, []float64) {
	d, err := data.Load(fmt.Sprintf("mnist:parity:%d", n), data.Options{})
	if err != nil {
		panic(err)
	}
	o, _ := model.Build("mlp:784-100-100-1:relu", "mse", d)
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	return o, theta
}

// cnnSpec is E3's quick CNN (the paper's architecture with widths 4-8-16) on 28x28 images.
const cnnSpec = "cnn:28x28x1-c4k3p1-c4k3p1-c4k3p1-m2-c8k3p1-c8k3p1-c8k3p1-m2-c16k3p1-c16k3p1-c16k3p1-m2-f10:relu"

// cnn returns the E3 CNN on the first n MNIST images (one-hot) at its initialisation.
func cnn(n int) (*model.Objective, []float64) {
	d, err := data.Load(fmt.Sprintf("mnist:onehot:%d", n), data.Options{})
	if err != nil {
		panic(err)
	}
	o, err := model.Build(cnnSpec, "mse", d)
	if err != nil {
		panic(err)
	}
	theta := make([]float64, o.P())
	o.Model.Init(theta, rand.New(rand.NewPCG(1, 1)))
	return o, theta
}

func main() {
	only := flag.String("only", "", "run only this workload")
	dataDir := flag.String("data", "", "write the 1-D regression data for the peers here and exit")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the selected workloads to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *dataDir != "" {
		// The E3 CNN's data and initial weights for the PyTorch peer (workload 6).
		o, theta := cnn(1000)
		x := npy.Array{Shape: []int{o.N(), o.Data.D}, Data: o.Data.X}
		y := npy.Array{Shape: []int{o.N(), o.K()}, Data: o.Data.Y}
		npy.WriteFile(filepath.Join(*dataDir, "cnn_x.npy"), x)
		npy.WriteFile(filepath.Join(*dataDir, "cnn_y.npy"), y)
		sd, _ := model.StateDict(o.Model, theta)
		safetensors.Write(filepath.Join(*dataDir, "cnn.safetensors"), sd, map[string]string{"sgdlab_model": cnnSpec})
		d4 := data.Gauss(10000, 4, 1, 1)
		npy.WriteFile(filepath.Join(*dataDir, "gauss10000d4_x.npy"), npy.Array{Shape: []int{10000, 4}, Data: d4.X})
		npy.WriteFile(filepath.Join(*dataDir, "gauss10000d4_y.npy"), npy.Vector(d4.Y))
		for _, n := range []int{10000, 100000} {
			d := data.Gauss(n, 1, 1, 1)
			npy.WriteFile(filepath.Join(*dataDir, fmt.Sprintf("gauss%d_x.npy", n)), npy.Vector(d.X))
			npy.WriteFile(filepath.Join(*dataDir, fmt.Sprintf("gauss%d_y.npy", n)), npy.Vector(d.Y))
		}
		return
	}
	run := func(name string) bool { return *only == "" || *only == name }
	if run("w1_sgd_epoch") {
		o, theta := e1(10000)
		r, _ := sgd.New(o, sgd.Config{Eta: 0.01, Batch: 100}, rand.New(rand.NewPCG(2, 2)))
		emit("w1_sgd_epoch", best(5, func() {
			for k := 0; k < 100; k++ {
				r.Step(theta)
			}
		}), nil)
	}
	if run("w2_per_sample_gram") {
		o, theta := e1(2000)
		w := o.NewWorker(runtime.NumCPU(), 0)
		rows := make([]float64, o.N()*o.P())
		emit("w2_per_sample_gram", best(3, func() {
			w.PerSampleGrads(theta, nil, rows)
			if _, err := gram.Jacobian(o, theta); err != nil {
				panic(err)
			}
		}), map[string]any{"note": "per-sample loss gradients (N x P) and the N x N Gram through the layer " +
			"factorisation"})
	}
	if run("w6_cnn_per_sample_gram") || run("w6_cnn_hvp") {
		o, theta := cnn(1000)
		w := o.NewWorker(runtime.NumCPU(), 0)
		if run("w6_cnn_per_sample_gram") {
			rows := make([]float64, o.N()*o.P())
			g := make([]float64, o.N()*o.N())
			emit("w6_cnn_per_sample_gram", best(3, func() {
				w.PerSampleGrads(theta, nil, rows)
				linalg.Gemm(false, true, 1, linalg.M(o.N(), o.P(), rows), linalg.M(o.N(), o.P(), rows), 0,
					linalg.M(o.N(), o.N(), g))
			}), map[string]any{"P": o.P(), "note": "per-sample loss gradients (N x P) and their N x N Gram"})
		}
		if run("w6_cnn_hvp") {
			v, hv := make([]float64, o.P()), make([]float64, o.P())
			for i := range v {
				v[i] = 1
			}
			emit("w6_cnn_hvp", best(3, func() { w.HVP(theta, v, hv) }), map[string]any{"P": o.P()})
		}
	}
	if run("w3_hvp") || run("w3_lanczos_top10") {
		o, theta := e1(10000)
		w := o.NewWorker(runtime.NumCPU(), 0)
		v, hv := make([]float64, o.P()), make([]float64, o.P())
		for i := range v {
			v[i] = 1
		}
		if run("w3_hvp") {
			emit("w3_hvp", best(5, func() { w.HVP(theta, v, hv) }), nil)
		}
		if run("w3_lanczos_top10") {
			emit("w3_lanczos_top10", best(1, func() {
				// Exactly 100 Hessian-vector products with full re-orthogonalisation, as the peer.
				curvature.Lanczos(curvature.Hessian(w, theta), curvature.LanczosOptions{K: 10, MaxIter: 100,
					Tol: 1e-300, NoDeflationCheck: true, Rand: rand.New(rand.NewPCG(3, 3))})
			}), nil)
		}
	}
	if run("w4_escape_ensemble") {
		s, steps := timeEscapes(study.Dynamics{Kind: "sgd", Eta: 0.1, Batch: 1, Sampling: "epoch"}, 100, 1, 10)
		emit("w4_escape_ensemble", s, map[string]any{"run_steps": steps, "mean_steps": float64(steps) / 100})
	}
	// Workload 4 at the careful NumPy peer's settings (bench/peers/numpy_bench.py): SGD with
	// each sampling, and the decoupled SDE with Euler-Maruyama at 10 substeps per SGD step.
	escapeW4 := func(name string, dyn study.Dynamics, runs, d int) {
		if !run(name) {
			return
		}
		s, steps := timeEscapes(dyn, runs, d, 3)
		emit(name, s, map[string]any{"run_steps": steps, "ns_per_run_step": s * 1e9 / float64(steps)})
	}
	for _, runs := range []int{100, 5000} {
		for _, samp := range []string{"replacement", "epoch"} {
			for _, d := range []int{1, 4} {
				escapeW4(fmt.Sprintf("w4c_%s_%d_d%d", samp, runs, d),
					study.Dynamics{Kind: "sgd", Eta: 0.1, Batch: 1, Sampling: samp}, runs, d)
			}
		}
		escapeW4(fmt.Sprintf("w4c_sde_%d_d1", runs), study.Dynamics{Kind: "decoupled", Eta: 0.1, Batch: 1,
			Sampling: "replacement", Scheme: "ito", Substeps: 10}, runs, 1)
	}
	if run("w5_chain") {
		o, _ := model.Build("linear", "mse", data.Gauss(100000, 1, 1, 1))
		p, _ := study.Minimum(context.Background(), study.Env{}, o, nil, 1)
		fac, _ := study.Factory(o, p, study.Dynamics{Kind: "sgd", Eta: 0.1, Batch: 10, Sampling: "epoch"})
		var samples int
		emit("w5_chain", best(10, func() {
			dyn, _ := fac.New(rand.New(rand.NewPCG(7, 7)))
			theta := append([]float64(nil), p.Min.Theta...)
			var ls []float64
			for k := 1; k <= 1_000_000; k++ {
				dyn.Step(theta)
				if k%100 == 0 {
					ls = append(ls, dyn.Loss(theta))
				}
			}
			samples = len(ls)
		}), map[string]any{"samples": samples})
	}
	if run("floor") {
		// The hand-inlined loops of floor.go on the same data (see there).
		packed := func(n int) []float64 {
			d := data.Gauss(n, 1, 1, 1)
			rows := make([]float64, 0, 2*n)
			for i := range n {
				rows = append(rows, d.X[i], d.Y[i])
			}
			return rows
		}
		r4 := packed(10000)
		var steps int64
		s := best(10, func() { steps = floorW4(r4, runtime.NumCPU()) })
		emit("w4_floor", s, map[string]any{"run_steps": steps,
			"ns_per_run_step_per_core": s * 1e9 * float64(runtime.NumCPU()) / float64(steps)})
		// The interleaved floor of workload 4c (5000 runs, replacement, exit at 2 L*).
		s = best(5, func() { steps = floorEscapes(r4, 0.1, 2, 5000, runtime.NumCPU()) })
		emit("w4c_floor_replacement_5000_d1", s, map[string]any{"run_steps": steps,
			"ns_per_run_step": s * 1e9 / float64(steps)})
		r5 := packed(100000)
		var samples int
		s = best(10, func() { samples = floorW5(r5) })
		emit("w5_floor", s, map[string]any{"samples": samples, "ns_per_step": s * 1e9 / 1e6})
	}
	if run("gemm") {
		// The largest product of workloads 1-3 (the first layer over a chunk of 256 MNIST
		// images: 256 x 784 times 784 x 100), dense through linalg.Gemm, and the BLAS dgemm
		// rate at 2048 on all cores (OpenBLAS in the openblas build).
		a := linalg.M(256, 784, make([]float64, 256*784))
		b := linalg.M(100, 784, make([]float64, 100*784))
		c := linalg.M(256, 100, make([]float64, 256*100))
		d, _ := data.Load("mnist:parity:256", data.Options{})
		copy(a.Data, d.X)
		for i := range b.Data {
			b.Data[i] = 0.01 * float64(i%7)
		}
		flops := 2.0 * 256 * 784 * 100
		t := best(20, func() { linalg.Gemm(false, true, 1, a, b, 0, c) })
		emit("gemm_layer1_dense", t, map[string]any{"gflops": flops / t / 1e9})
		var csr linalg.CSR
		wT := make([]float64, 784*100)
		t = best(20, func() {
			csr.Fill(256, 784, a.Data)
			linalg.Transpose(b, wT)
			clear(c.Data)
			csr.MulT(wT, 100, c)
		})
		emit("gemm_layer1_sparse", t, map[string]any{"gflops_dense_equivalent": flops / t / 1e9,
			"density": linalg.Density(256, 784, a.Data)})
	}
	if run("gemm2048") {
		// 2048 x 2048 products: sgdlab's packed micro-kernel GEMM (the default pure-Go build's)
		// and, in the same process, the BLAS in use (gonum's pure-Go dgemm, or OpenBLAS in the
		// openblas build), alternating so both see the same machine state.
		// pair times C = A B (m x k times k x n) both ways, best of reps alternating runs.
		pair := func(m, k, n, reps int) (tk, tb float64) {
			a, b, c := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
			for i := range a {
				a[i] = float64(i%13) * 0.1
			}
			for i := range b {
				b[i] = float64(i%7) * 0.1
			}
			prod := func(blas bool) func() {
				return func() {
					linalg.UseBLAS = blas
					linalg.Gemm(false, false, 1, linalg.M(m, k, a), linalg.M(k, n, b), 0, linalg.M(m, n, c))
				}
			}
			tk, tb = 1e300, 1e300
			for range reps {
				tk = min(tk, best(1, prod(false)))
				tb = min(tb, best(1, prod(true)))
			}
			linalg.UseBLAS = false
			return tk, tb
		}
		tk, tb := pair(2048, 2048, 2048, 3)
		flops := 2.0 * 2048 * 2048 * 2048
		emit("gemm2048", tk, map[string]any{"gflops": flops / tk / 1e9, "kernel": linalg.Kernel(),
			"blas": model.BLAS, "blas_gflops": flops / tb / 1e9, "share_of_blas": tb / tk})
		emit("dgemm2048", tb, map[string]any{"gflops": flops / tb / 1e9, "blas": model.BLAS})
		// The layer products of the E1 and E2 networks at batch 100 (forward pass: batch x in
		// times in x out), the packed kernel against the BLAS in use.
		for _, sh := range [][3]int{{100, 784, 100}, {100, 784, 2000}, {100, 2000, 2000}} {
			tk, tb := pair(sh[0], sh[1], sh[2], 20)
			f := 2 * float64(sh[0]) * float64(sh[1]) * float64(sh[2])
			emit(fmt.Sprintf("gemm_b%d_%dx%d", sh[0], sh[1], sh[2]), tk, map[string]any{"gflops": f / tk / 1e9,
				"blas_gflops": f / tb / 1e9, "share_of_blas": tb / tk, "blas": model.BLAS})
		}
	}
}

// timeEscapes times an escape ensemble of runs runs of d-dimensional regression (N = 10^4,
// to L > 2 L*, all cores) and returns the best seconds of reps and the run-steps.
func timeEscapes(dyn study.Dynamics, runs, d, reps int) (float64, int64) {
	env := study.Env{Ens: ensemble.Env{Workers: runtime.NumCPU()}}
	prob := study.Problem{Model: "linear", Data: fmt.Sprintf("gauss:N=10000,d=%d,seed=1", d), Loss: "mse"}
	o, _ := prob.Build(context.Background(), env)
	p, _ := study.Minimum(context.Background(), env, o, nil, 1)
	spec := study.EscapeSpec{Problem: prob, Dynamics: dyn, Exit: "loss:c=2", Runs: runs, Seed: 5, MaxSteps: 1 << 40,
		Minimum: p}
	var steps int64
	s := best(reps, func() {
		rec, err := study.Escape(context.Background(), env, spec)
		if err != nil {
			panic(err)
		}
		steps = 0
		for _, r := range rec.Trajectory {
			steps += r.Steps[0]
		}
	})
	return s, steps
}
