// Command harness runs sgdlab's benchmark workloads side by side with the PyTorch and NumPy
// peers in one invocation and prints the times and ratios (BENCHMARKS.md). It installs the
// peers with apt when they are missing and it runs as root, builds the workloads twice (pure
// Go and -tags openblas), and writes bench/out/results.json and bench/out/table.md.
//
//	go run ./bench/harness            # everything
//	go run ./bench/harness -skip-torch
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type row struct {
	Impl     string         `json:"impl"`
	Peer     string         `json:"peer"`
	Workload string         `json:"workload"`
	Seconds  float64        `json:"seconds"`
	Extra    map[string]any `json:"extra"`
}

const python = "/usr/bin/python3"

func main() {
	skipTorch := flag.Bool("skip-torch", false, "do not run the PyTorch peer")
	skipOpenBLAS := flag.Bool("skip-openblas", false, "do not build the -tags openblas variant")
	out := flag.String("out", "bench/out", "output directory")
	flag.Parse()
	must(os.MkdirAll(*out, 0o755))
	ensurePeers(!*skipTorch, !*skipOpenBLAS)
	var rows []row
	pure := filepath.Join(*out, "workloads-purego")
	step("building the pure-Go workloads")
	must(run(nil, "go", "build", "-o", pure, "./bench/workloads"))
	must(run(nil, pure, "-data", filepath.Join(*out, "data")))
	step("sgdlab, pure Go")
	rows = append(rows, collectEach(pure, append(programs, careful...))...)
	if !*skipOpenBLAS {
		ob := filepath.Join(*out, "workloads-openblas")
		step("building the OpenBLAS workloads")
		must(
			run([]string{"CGO_LDFLAGS=-lopenblas"}, "go", "build", "-tags", "openblas", "-o", ob, "./bench/workloads"),
		)
		step("sgdlab, OpenBLAS")
		rows = append(rows, collectEach(ob, programs)...)
	}
	step("NumPy peer")
	rows = append(rows, collect(python, "bench/peers/numpy_bench.py", "--data", filepath.Join(*out, "data"))...)
	if !*skipTorch {
		step("PyTorch peer (2 threads)")
		rows = append(rows, collect(python, "bench/peers/torch_bench.py")...)
	}
	b, _ := json.MarshalIndent(rows, "", "  ")
	must(os.WriteFile(filepath.Join(*out, "results.json"), b, 0o644))
	table := render(rows)
	must(os.WriteFile(filepath.Join(*out, "table.md"), []byte(table), 0o644))
	fmt.Print(table)
}

func step(s string) { fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), s) }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func run(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// programs are the workload groups of bench/workloads, each run in a fresh process so that
// no workload inherits the heap, caches or threads of another.
var programs = append(order[:len(order):len(order)], "floor", "gemm", "gemm2048")

// careful are workload 4 at the settings of the careful NumPy peer (pure Go only: no BLAS).
var careful = func() []string {
	var c []string
	for _, runs := range []int{100, 5000} {
		for _, samp := range []string{"replacement", "epoch"} {
			for _, d := range []int{1, 4} {
				c = append(c, fmt.Sprintf("w4c_%s_%d_d%d", samp, runs, d))
			}
		}
		c = append(c, fmt.Sprintf("w4c_sde_%d_d1", runs))
	}
	return c
}()

// collectEach runs the workload program once per workload group.
func collectEach(name string, groups []string) []row {
	var rows []row
	for _, w := range groups {
		rows = append(rows, collect(name, "-only", w)...)
	}
	return rows
}

// collect runs a workload program and parses its JSON lines.
func collect(name string, args ...string) []row {
	cmd := exec.Command(name, args...)
	cmd.Dir = "."
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: %s failed: %v\n", name, err)
	}
	var rows []row
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		r := row{Workload: fmt.Sprint(m["workload"]), Extra: map[string]any{}}
		r.Seconds, _ = m["seconds"].(float64)
		if v, ok := m["impl"]; ok {
			r.Impl = fmt.Sprint(v)
		}
		if v, ok := m["peer"]; ok {
			r.Impl = fmt.Sprint(v)
		}
		for k, v := range m {
			if k != "workload" && k != "seconds" && k != "impl" && k != "peer" {
				r.Extra[k] = v
			}
		}
		if ex, ok := m["extra"].(map[string]any); ok {
			r.Extra = ex
		}
		rows = append(rows, r)
	}
	return rows
}

// ensurePeers installs python3-torch, python3-numpy and libopenblas-dev with apt when
// missing (as root), and says what is missing otherwise.
func ensurePeers(torch, openblas bool) {
	var pkgs []string
	if exec.Command(python, "-c", "import numpy").Run() != nil {
		pkgs = append(pkgs, "python3-numpy")
	}
	if torch && exec.Command(python, "-c", "import torch").Run() != nil {
		pkgs = append(pkgs, "python3-torch")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libopenblas.so"); openblas && err != nil {
		pkgs = append(pkgs, "libopenblas-dev")
	}
	if len(pkgs) == 0 {
		return
	}
	if os.Geteuid() != 0 {
		must(
			fmt.Errorf("missing %s: install with apt-get install %s", strings.Join(pkgs, " "), strings.Join(pkgs, " ")),
		)
	}
	step("installing " + strings.Join(pkgs, " "))
	run([]string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "update", "-qq")
	must(
		run(
			[]string{"DEBIAN_FRONTEND=noninteractive"},
			"apt-get",
			append([]string{"install", "-y", "-qq"}, pkgs...)...),
	)
}

var order = []string{"w1_sgd_epoch", "w2_per_sample_gram", "w3_hvp", "w3_lanczos_top10", "w4_escape_ensemble",
	"w5_chain", "w6_cnn_per_sample_gram", "w6_cnn_hvp"}

var titles = map[string]string{"w1_sgd_epoch": "1. SGD epoch, E1 network (784-100-100-1 ReLU, N=10^4, B=100)",
	"w2_per_sample_gram": "2. per-sample gradients + N x N Gram, E1 network, N=2000",
	"w3_hvp":             "3a. Hessian-vector product, E1 network, N=10^4",
	"w3_lanczos_top10":   "3b. Lanczos top-10 (100 HVPs), E1 network, N=10^4",
	"w4_escape_ensemble": "4. E5 ensemble: 100 runs, 1-D " +
		"regression, N=10^4, B=1, eta=0.1, to L > 2 L*",
	"w5_chain":               "5. stationary chain: 10^6 SGD steps, 1-D regression, B=10",
	"w6_cnn_per_sample_gram": "6a. per-sample gradients + N x N Gram, E3 quick CNN (widths 4-8-16), N=1000",
	"w6_cnn_hvp":             "6b. Hessian-vector product, E3 quick CNN, N=1000"}

func render(rows []row) string {
	t := map[string]map[string]float64{}
	for _, r := range rows {
		if t[r.Workload] == nil {
			t[r.Workload] = map[string]float64{}
		}
		t[r.Workload][r.Impl] = r.Seconds
	}
	impls := []string{"sgdlab-purego", "sgdlab-openblas", "pytorch-float64", "pytorch-float32", "numpy"}
	var b strings.Builder
	b.WriteString(
		"| workload | sgdlab pure Go | sgdlab OpenBLAS | PyTorch f64 | PyTorch f32 | NumPy | peer / pure Go | peer " +
			"/ OpenBLAS |\n|---|---|---|---|---|---|---|---|\n",
	)
	for _, w := range order {
		m := t[w]
		if m == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s |", titles[w])
		for _, im := range impls {
			if v, ok := m[im]; ok {
				fmt.Fprintf(&b, " %s |", dur(v))
			} else {
				b.WriteString(" - |")
			}
		}
		peer, name := m["pytorch-float64"], "PyTorch f64"
		if peer == 0 {
			peer, name = m["numpy"], "NumPy"
		}
		for _, im := range []string{"sgdlab-purego", "sgdlab-openblas"} {
			if v := m[im]; v > 0 && peer > 0 {
				fmt.Fprintf(&b, " %.1fx (%s) |", peer/v, name)
			} else {
				b.WriteString(" - |")
			}
		}
		b.WriteString("\n")
	}
	// The machine floor of workloads 4 and 5 (bench/workloads/floor.go).
	b.WriteString(
		"\n| workload | hand-inlined Go loop (floor) | sgdlab pure Go | NumPy | NumPy / floor | sgdlab / floor " +
			"|\n|---|---|---|---|---|---|\n",
	)
	for _, w := range []string{"w4", "w5"} {
		var name string
		for _, o := range order {
			if strings.HasPrefix(o, w+"_") {
				name = o
			}
		}
		fl, sg, np := t[w+"_floor"]["sgdlab-purego"], t[name]["sgdlab-purego"], t[name]["numpy"]
		if fl == 0 || sg == 0 || np == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.0fx | %.2f |\n", titles[name], dur(fl), dur(sg), dur(np), np/fl, sg/fl)
	}
	// Workload 4 against the careful NumPy peer, per run-step, and the interleaved floor.
	b.WriteString("\n| workload 4c (N=10^4, B=1, eta=0.1, exit at 2 L*) | sgdlab pure Go, 2 cores | NumPy (careful), " +
		"1 core | NumPy / sgdlab | floor, 2 cores | sgdlab / floor |\n|---|---|---|---|---|---|\n")
	perStep := func(w, impl string) float64 {
		for _, r := range rows {
			if r.Workload == w && r.Impl == impl {
				v, _ := r.Extra["ns_per_run_step"].(float64)
				return v
			}
		}
		return 0
	}
	for _, w := range careful {
		sg, np := perStep(w, "sgdlab-purego"), perStep(w, "numpy-careful")
		if sg == 0 || np == 0 {
			continue
		}
		fl := perStep(strings.Replace(w, "w4c_", "w4c_floor_", 1), "sgdlab-purego")
		floor, share := "not measured", "-"
		if fl > 0 {
			floor, share = fmt.Sprintf("%.2f ns", fl), fmt.Sprintf("%.2f", fl/sg)
		}
		fmt.Fprintf(&b, "| %s | %.2f ns | %.2f ns | %.1fx | %s | %s |\n", w, sg, np, np/sg, floor, share)
	}
	// Matrix-product efficiency.
	var gem []row
	for _, r := range rows {
		if strings.HasPrefix(r.Workload, "gemm") || r.Workload == "dgemm2048" {
			gem = append(gem, r)
		}
	}
	sort.Slice(gem, func(i, j int) bool { return gem[i].Impl+gem[i].Workload < gem[j].Impl+gem[j].Workload })
	peak := 0.0
	for _, r := range gem {
		if r.Workload == "dgemm2048" && r.Impl == "sgdlab-openblas" {
			peak, _ = r.Extra["gflops"].(float64)
		}
	}
	b.WriteString("\n| product | build | GFLOP/s | share of OpenBLAS dgemm at 2048 | the build's BLAS, same shape, " +
		"same process |\n|---|---|---|---|---|\n")
	for _, r := range gem {
		g, ok := r.Extra["gflops"].(float64)
		label := r.Workload
		if !ok {
			g, _ = r.Extra["gflops_dense_equivalent"].(float64)
			label += " (dense-equivalent)"
		}
		share := "-"
		if peak > 0 {
			share = fmt.Sprintf("%.0f%%", 100*g/peak)
		}
		same := "-"
		if bg, ok := r.Extra["blas_gflops"].(float64); ok {
			same = fmt.Sprintf("%.1f GFLOP/s (%v): packed kernel at %.0f%% of it", bg, r.Extra["blas"], 100*g/bg)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %s |\n", label, r.Impl, g, share, same)
	}
	return b.String()
}

func dur(s float64) string {
	switch {
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.2f s", s)
}
