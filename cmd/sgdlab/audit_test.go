package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/safetensors"
	"github.com/sgdlab/sgdlab/store"
)

// nonFinite matches a NaN or an infinity printed as a number.
var nonFinite = regexp.MustCompile(`(?i)(^|[^a-z])([+-]?inf|nan)([^a-z]|$)`)

// npyHeader writes a .npy file with the given shape literal and data bytes.
func npyHeader(t *testing.T, path, shape string, data []byte) {
	t.Helper()
	h := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape)
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if err := os.WriteFile(path, append(append(b, h...), data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The outside audit's list (issue 19), run by TestBadInputExitStatus: every hostile input is
// refused with exit status 2 and one line naming what is wrong and what to do, never a stack
// trace, a hang or a crash.
func auditInputs(t *testing.T) {
	dir := t.TempDir()
	// An .npy header whose shape overflows the element count.
	bigX, bigY := filepath.Join(dir, "bigx.npy"), filepath.Join(dir, "bigy.npy")
	npyHeader(t, bigX, "(2305843009213693952, 8)", nil)
	npyHeader(t, bigY, "(2305843009213693952, 0)", nil)
	// Data the model fits exactly (L* = 0).
	exact := filepath.Join(dir, "exact.csv")
	os.WriteFile(exact, []byte("1,2\n2,4\n3,6\n4,8\n"), 0o644)
	// Data whose squares overflow.
	hugeCSV := filepath.Join(dir, "huge.csv")
	os.WriteFile(hugeCSV, []byte("1,1e308\n3,-1e308\n"), 0o644)
	// Weights of 1e150 for mlp:2-3-1:relu.
	huge := filepath.Join(dir, "huge.safetensors")
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1e150
		}
		return v
	}
	if err := safetensors.Write(huge, []safetensors.Tensor{{Name: "0.weight", Shape: []int{3, 2}, Data: fill(6)},
		{Name: "0.bias", Shape: []int{3}, Data: fill(3)}, {Name: "2.weight", Shape: []int{1, 3}, Data: fill(3)},
		{Name: "2.bias", Shape: []int{1}, Data: fill(1)}}, nil); err != nil {
		t.Fatal(err)
	}
	// A safetensors file whose two tensors share their bytes.
	overlap := filepath.Join(dir, "overlap.safetensors")
	js := `{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],` +
		`"data_offsets":[0,8]}}`
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	os.WriteFile(overlap, append(append(b, js...), make([]byte, 8)...), 0o644)
	// Parameter files: repeated levels, a duplicate key, a null.
	params := func(name, body string) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "E5.json"), []byte(body), 0o644)
		return d
	}
	cases := []struct {
		args []string
		want string
	}{
		// 1. wrong numbers with exit 0
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=1000,d=1", "--eta", "0.1", "--exit",
			"ball:r=1e100"}, "cannot resolve"},
		{[]string{"spectrum", "--model", "linear", "--data", "gauss:N=1000,d=20", "--probes", "1"}, "--probes"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r1"), "--params", params("rep",
			`{"levels":[1.2,1.2,1.2]}`)}, "levels must increase"},
		{[]string{"barrier", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--to", "0"},
			"--to: the second minimum: not a minimum"},
		{[]string{"theory", "--eta", "1e-300", "--batch", "1", "--hstar", "1e-300"}, "beyond floating-point range"},
		{[]string{"escape", "--eta", "0.1", "--runs", "3", "--exit", "loss:c=2,2,2"}, "given twice"},
		// 3. crashes and hangs
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "npy:x=" + bigX + ",y=" + bigY}, "implausible shape"},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "1", "--n", "2", "--kesten-samples=-1"},
			"--kesten-samples"},
		{[]string{"noise", "--model", "linear", "--data", "gauss:N=100,d=3", "--theta", "1e160,1,1"},
			"beyond floating-point range"},
		{[]string{"noise", "--model", "mlp:2-3-1:tanh", "--data", "gauss:N=100,d=2", "--theta",
			"1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160,1e160"},
			"beyond floating-point range"},
		{[]string{"noise", "--model", "linear", "--data", "gauss:N=100,d=3", "--theta", "1e150,1e150,1e150"},
			"beyond the range"},
		{[]string{"noise", "--model", "mlp:2-3-1:relu", "--data", "gauss:N=100,d=2", "--weights", huge},
			"beyond floating-point range"},
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=1000,d=1", "--eta", "0.1", "--batch", "2",
			"--batches", "1"}, "--batches"},
		{[]string{"chain", "--model", "linear", "--data", "csv:path=" + exact, "--eta", "0.1"}, "L* = 0"},
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=1000,d=1", "--eta", "0.1", "--exit",
			"ball:r=1e-300"}, "no extent"},
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=100,d=1", "--eta", "0.1", "--start", "1e300"},
			"beyond floating-point range"},
		{[]string{"spectrum", "--theta", "1e160"}, "beyond floating-point range"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "csv:path=/dev/zero", "--max-memory", "100M"},
			"longer than"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--init", "1e160"}, "--init"},
		// 5. lenient input
		{[]string{"noise", "--model", "mlp:2-3-1:relu", "--data", "gauss:N=100,d=2", "--weights", overlap},
			"overlaps"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r2"), "--params", params("dup",
			`{"runs": 10, "runs": 20}`)}, "appears twice"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r3"), "--params", params("null",
			`{"runs": null}`)}, "is null"},
		{[]string{"train", "--model", "mlp:2-3-1:tanh:relu", "--data", "gauss:N=10,d=2", "--eta", "0.1", "--epochs",
			"1"}, "given twice"},
		{[]string{"train", "--model", "cnn:8x8x1-m2s0-f1", "--data", "gauss:N=10,d=64", "--eta", "0.1", "--epochs",
			"1"}, "the stride 0"},
		// A second audit (2026-12-06): inputs that ran on a wrong premise.
		{[]string{"escape", "--eta", "0.1", "--runs", "3", "--exit", "loss:c=1.2", "--start", "1e10"},
			"--start: the start point: not a minimum"},
		{[]string{"escape", "--data", "csv:path=" + exact, "--eta", "0.01", "--runs", "3", "--exit", "ball:r=1"},
			"L* = 0 at the minimum"},
		{[]string{"escape", "--data", "csv:path=" + exact, "--eta", "0.01", "--runs", "3", "--dynamics", "langevin",
			"--temperature", "0.1"}, "threshold c L* is zero"},
		{[]string{"stationary", "--eta", "0.1", "--chains", "1", "--samples", "100", "--batch", "10000"},
			"B = N = 10000 without replacement"},
		{[]string{"stationary", "--eta", "0.1", "--dynamics", "sde", "--momentum", "0.9"},
			"--momentum: this option applies to the dynamics sgd"},
		{[]string{"escape", "--eta", "0.1", "--eps", "0.1"}, "--eps: this option applies to the dynamics logland"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r4"), "--params", t.TempDir()},
			"holds none of E5.json"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "csv:path=" + hugeCSV}, "rescale the data"},
		{[]string{"stationary", "--eta", "1e-12", "--chains", "1", "--samples", "100"}, "--burn: ten relaxation"},
		{[]string{"chain", "--eta", "0.1", "--model", "doublewell", "--data", "gauss:N=100,d=1,sigma=0.5", "--exit",
			"well:r=1e-300"}, "the exit's target"},
		{[]string{"noise", "--model", "doublewell:a=1e-3", "--data", "gauss:N=50,d=1,sigma=0", "--theta", "1",
			"--minimum", "0"}, "--minimum: the minimum: not a minimum"},
		{[]string{"escape", "--eta", "0.1", "--runs", "3", "--exit", "well", "--both", "--max-steps", "10", "--model",
			"doublewell", "--data", "gauss:N=100,d=1,sigma=0.5"}, "no run escaped (A -> B"},
	}
	for _, c := range cases {
		args := append(c.args, "--quiet")
		_, stderr, code := sgdlab(t, args...)
		checkError(t, args, stderr, code, 2)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: message %q lacks %q", c.args, stderr, c.want)
		}
	}
}

// Edge inputs that have an answer get it: exit 0, every printed number finite, and the
// claims that rest on a number consistent with it.
func TestAuditResultsFinite(t *testing.T) {
	type check func(t *testing.T, rec map[string]any)
	num := func(rec map[string]any, path ...string) float64 {
		var v any = rec
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return math.NaN()
			}
			v = m[p]
		}
		f, ok := v.(float64)
		if !ok {
			return math.NaN()
		}
		return f
	}
	for _, c := range []struct {
		args  []string
		check check
	}{
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=1000,d=1", "--eta", "1e6"},
			func(t *testing.T, rec map[string]any) {
				if p, _ := rec["predictions"].([]any); len(p) != 0 {
					t.Error("SDE predictions shown at eta h* >= 2")
				}
			}},
		{[]string{"noise", "--model", "linear", "--data", "gauss:N=100,d=3", "--batch", "100"},
			func(t *testing.T, rec map[string]any) {
				if a := rec["analysis"].(map[string]any); a["decoupled"] != nil {
					t.Errorf("B = N without replacement compared a zero covariance: %v", a["decoupled"])
				}
			}},
		{[]string{"theory", "--eta", "100", "--batch", "1", "--hstar", "1"},
			func(t *testing.T, rec map[string]any) {
				if rec["stable"] != false || rec["step_stable"] != false {
					t.Errorf("eta h* = 100 called stable: %v %v", rec["stable"], rec["step_stable"])
				}
			}},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "1", "--lmin", "1e-300", "--lsaddle", "1e300"},
			func(t *testing.T, rec map[string]any) {
				// Delta log L = log(1e600) = 600 ln 10; the power law's log10 rate is -10.5 x 600 + log10
				// of the prefactor 1/(2 pi).
				if d := num(rec, "delta_log_L"); math.Abs(d-600*math.Ln10) > 1e-9 {
					t.Errorf("Delta log L = %v, want %v", d, 600*math.Ln10)
				}
				want := -10.5*600 - math.Log10(2*math.Pi)
				if l := num(rec, "log10_rate", "power_law"); math.Abs(l-want) > 1e-9 {
					t.Errorf("log10 power-law rate %v, want %v", l, want)
				}
			}},
		// The 1/K convention: for K = 10 outputs the decoupled trace ratio equals the strength's
		// decoupled ratio.
		{[]string{"noise", "--model", "mlp:784-8-10", "--data", "mnist:onehot:60", "--minimum", "none"},
			func(t *testing.T, rec map[string]any) {
				tr := num(rec, "analysis", "decoupled", "trace_ratio")
				st := num(rec, "analysis", "strength", "decoupled_ratio")
				if !(math.Abs(tr-st) <= 1e-9*st) {
					t.Errorf("trace ratio %v vs strength ratio %v", tr, st)
				}
			}},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "1", "--lmin", "1e-320", "--lsaddle", "1"},
			nil},
		{[]string{"escape", "--eta", "0.1", "--runs", "20", "--exit", "loss:c=1.2,1.6", "--max-steps", "100"},
			func(t *testing.T, rec map[string]any) {
				lv := rec["rates"].([]any)[1].(map[string]any)
				if !(lv["censored"].(float64) > 0) || !(lv["mfpt_lo"].(float64) > 0) {
					t.Errorf("a level with censored runs: %v", lv)
				}
			}},
		{[]string{"stationary", "--eta", "0.1", "--chains", "1", "--samples", "10"}, nil},
		{[]string{"spectrum", "--model", "linear", "--data", "gauss:N=1000,d=20", "--probes", "2"}, nil},
		// One sample: every per-sample gradient is the mean gradient, the noise is zero (not the
		// rounding of a difference) and nothing is compared with it.
		{[]string{"noise", "--model", "linear", "--data", "gauss:N=1,d=1", "--theta", "0"},
			func(t *testing.T, rec map[string]any) {
				a := rec["analysis"].(map[string]any)
				if n := num(rec, "analysis", "strength", "noise"); n != 0 || a["decoupled"] != nil {
					t.Errorf("one sample: Noise = %v, decoupled comparison %v", n, a["decoupled"])
				}
			}},
		{[]string{"noise", "--model", "mlp:3-4-1:relu", "--data", "gauss:N=100,d=3", "--theta",
			strings.TrimSuffix(strings.Repeat("0,", 21), ",")},
			func(t *testing.T, rec map[string]any) {
				if h := num(rec, "analysis", "fig1", "hist_overlap"); !(h >= 0 && h <= 1) {
					t.Errorf("histogram overlap %v outside [0, 1]", h)
				}
			}},
		// An interpolating minimum: log(L^s/L*) is infinite, reported as not defined with the reason.
		{[]string{"barrier", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0"},
			func(t *testing.T, rec map[string]any) {
				b := rec["barrier"].(map[string]any)
				if b["delta_log_L"] != nil || b["note"] == nil {
					t.Errorf("L* = 0: delta_log_L %v, note %v", b["delta_log_L"], b["note"])
				}
			}},
		// Real SGD against the SDE's criterion: with n = 2 at eta h* = 1.5 the exact chain expands
		// on average (E log|A e_1| = +0.25), so the minimum is not stable although n < n_c.
		{[]string{"theory", "--eta", "1.5", "--batch", "1", "--hstar", "1", "--n", "2", "--kesten-samples", "100000"},
			func(t *testing.T, rec map[string]any) {
				if rec["stable"] != false || rec["chain_stable"] != false || rec["kesten_alpha"] != nil {
					t.Errorf("n = 2, eta h* = 1.5: stable %v, chain_stable %v, alpha %v", rec["stable"],
						rec["chain_stable"], rec["kesten_alpha"])
				}
			}},
		// The automatic descent for H* stops on the saddle at 0: the Hessian form is not measured (its
		// trace ratio came out negative).
		{[]string{"noise", "--model", "doublewell:a=1e-3", "--data", "gauss:N=50,d=1,sigma=0", "--theta", "1",
			"--sampling", "replacement"},
			func(t *testing.T, rec map[string]any) {
				if a := rec["analysis"].(map[string]any); a["hessian_form"] != nil || rec["notes"] == nil {
					t.Errorf("saddle as H*: %v, notes %v", a["hessian_form"], rec["notes"])
				}
			}},
		// lambda = 0 (every step leaves a tiny ball at eta h* = 3): the rate per unit t is not finite,
		// so it is not measured; 1 - lambda = 1 stands.
		{[]string{"chain", "--eta", "3", "--model", "linear:bias", "--data", "gauss:N=50,d=1", "--exit",
			"ball:r=1e-6"},
			func(t *testing.T, rec map[string]any) {
				lv := rec["levels"].([]any)[0].(map[string]any)
				if lv["rate"] != nil || lv["rate_per_step"] != 1.0 {
					t.Errorf("lambda = 0: rate %v, per step %v", lv["rate"], lv["rate_per_step"])
				}
			}},
		// Long runs too short to leave A: the occupation ratio is not measured (it was +Inf).
		{[]string{"escape", "--eta", "0.1", "--runs", "5", "--exit", "well", "--both", "--occupation-runs", "2",
			"--occupation-steps", "20", "--model", "doublewell", "--data", "gauss:N=100,d=1,sigma=0.5", "--dynamics",
			"decoupled"},
			func(t *testing.T, rec map[string]any) {
				if rec["occupation_ratio_measured"] != nil || rec["notes"] == nil {
					t.Errorf("no transition: ratio %v, notes %v", rec["occupation_ratio_measured"], rec["notes"])
				}
			}},
		// Large batches: alpha is a number (the quadrature once gave NaN with exit 0).
		{[]string{"theory", "--eta", "0.01", "--batch", "1000", "--hstar", "1"},
			func(t *testing.T, rec map[string]any) {
				if a := num(rec, "kesten_alpha"); !(math.Abs(a/176757.653106326-1) < 1e-6) {
					t.Errorf("B = 1000: alpha %v", a)
				}
			}},
		// n >= n_c: unstable by the SDE's criterion (the reason said "although n < n_c"), and the rates
		// are flagged as outside the formulas' validity.
		{[]string{"theory", "--eta", "1", "--batch", "1", "--hstar", "1", "--n", "10", "--lmin", "0.1", "--lsaddle",
			"0.2", "--kesten-samples", "2000"},
			func(t *testing.T, rec map[string]any) {
				why, _ := rec["stable_reason"].(string)
				if rec["stable"] != false || !strings.HasPrefix(why, "n = 10 >= n_c = 4;") ||
					strings.Contains(why, "although") || rec["rates_note"] == nil {
					t.Errorf("n = 10 > n_c = 4: stable %v, reason %q, rates note %v", rec["stable"], why,
						rec["rates_note"])
				}
			}},
		// Ten samples: the 95% intervals stay inside phi > n/2 and T > 0 (they reached -0.96 and -0.0009).
		{[]string{"stationary", "--model", "linear", "--data", "gauss:N=50,d=2", "--eta", "0.05", "--batch", "2",
			"--dynamics", "sde", "--chains", "1", "--samples", "10", "--every", "1"},
			func(t *testing.T, rec map[string]any) {
				pl, gb := num(rec, "fit", "power_law", "lo"), num(rec, "fit", "gibbs", "lo")
				if !(pl > 1) || !(gb > 0) {
					t.Errorf("interval lower ends: phi %v (n/2 = 1), T %v", pl, gb)
				}
			}},
		// A network with flat directions (saturated tanh units) at its minimum and saddle: the
		// barrier stands, the harmonic determinant ratio is not defined (it failed the result check).
		{[]string{"barrier", "--model", "mlp:1-3-1:tanh", "--data", "tanh:N=100"},
			func(t *testing.T, rec map[string]any) {
				th := rec["theory_inputs"].(map[string]any)
				if th["DetRatio"] != nil || rec["theory_note"] == nil || !(num(rec, "barrier", "delta_L") > 0) {
					t.Errorf("flat directions: det ratio %v, note %v, Delta L %v", th["DetRatio"], rec["theory_note"],
						num(rec, "barrier", "delta_L"))
				}
			}},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "1", "--lmin", "1", "--lsaddle", "2",
			"--hsaddle", "1e300", "--detratio", "1e300"},
			func(t *testing.T, rec map[string]any) {
				if s, _ := rec["mfpt_below_one_step"].([]any); len(s) != 3 {
					t.Errorf("MFPTs of 1e-440 t not flagged as below one step: %v", s)
				}
			}},
	} {
		human, stderr, code := sgdlab(t, append(c.args, "--quiet")...)
		checkError(t, c.args, stderr, code, 0)
		if m := nonFinite.FindString(human); m != "" {
			t.Errorf("%v prints a non-finite number (%q):\n%s", c.args, m, human)
		}
		out, _, code := sgdlab(t, append(c.args, "--quiet", "--json")...)
		var rec map[string]any
		if err := json.Unmarshal([]byte(out), &rec); err != nil || code != 0 {
			t.Errorf("%v --json: status %d, %v", c.args, code, err)
			continue
		}
		if c.check != nil {
			c.check(t, rec)
		}
	}
}

// Output that cannot be written is a failure, never success; no temporary file is left.
func TestLostOutput(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	cmd := exec.Command(bin, "theory", "--eta", "0.1", "--batch", "1", "--hstar", "1")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "no space") {
		t.Errorf("summary to a full disk: %v %q", err, errb.String())
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	if _, stderr, code := sgdlab(t, "escape", "--eta", "0.1", "--runs", "3", "--store", db, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	args := []string{"runs", db, "--run", "1", "--export", "csv", "--out", "/dev/full"}
	_, stderr, code := sgdlab(t, args...)
	checkError(t, args, stderr, code, 1)
	if m, _ := filepath.Glob("/dev/full.tmp*"); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// A CSV whose one line holds 3 million numbers (12 MB of text, 24 MB as numbers) under a
// 60 MB cap: refused by the growing buffers' memory checks before the process grows past the
// cap (its peak resident memory is measured; reading whole lines as strings took 327 MB).
func TestCSVMemoryCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "wide.csv")
	line := strings.Repeat("1.5,", 3_000_000) + "2\n"
	os.WriteFile(p, []byte(line), 0o644)
	cmd := exec.Command(bin, "train", "--eta", "0.1", "--epochs", "1", "--data", "csv:path="+p, "--max-memory",
		"60M", "--quiet")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(errb.String(), "memory") {
		t.Fatalf("a wide CSV under the cap: %v %q", err, errb.String())
	}
	// Resident memory: the Go runtime and the binary take about 25 MB before any data.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > (60+30)<<10 {
		t.Errorf("peak resident memory %d KiB under a 60 MB cap", ru.Maxrss)
	}
}

// A store that cannot be written is named as such (not "damaged") with exit status 2.
func TestReadOnlyStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	if _, stderr, code := sgdlab(t, "escape", "--eta", "0.1", "--runs", "3", "--store", db, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	locked := false
	if os.Geteuid() == 0 {
		locked = exec.Command("chattr", "+i", db).Run() == nil
		defer exec.Command("chattr", "-i", db).Run()
	} else {
		locked = os.Chmod(db, 0o444) == nil
	}
	if !locked {
		t.Skip("cannot make a file read-only here")
	}
	args := []string{"escape", "--eta", "0.1", "--runs", "5", "--store", db, "--quiet"}
	_, stderr, code := sgdlab(t, args...)
	checkError(t, args, stderr, code, 2)
	if !strings.Contains(stderr, "read-only") || strings.Contains(stderr, "damaged") {
		t.Errorf("read-only store: %q", stderr)
	}
	if _, stderr, code := sgdlab(t, "runs", db); code != 0 {
		t.Errorf("runs cannot read a read-only store: %s", stderr)
	}
	// The list of runs goes where --out says, and a CSV export names its run.
	list := filepath.Join(dir, "list.txt")
	if _, stderr, code := sgdlab(t, "runs", db, "--out", list); code != 0 {
		t.Errorf("runs --out: %s", stderr)
	} else if b, _ := os.ReadFile(list); !strings.Contains(string(b), "escape") {
		t.Errorf("runs --out wrote %q", b)
	}
	args = []string{"runs", db, "--export", "csv"}
	_, stderr, code = sgdlab(t, args...)
	checkError(t, args, stderr, code, 2)
	if !strings.Contains(stderr, "give --run") {
		t.Errorf("CSV export without a run: %q", stderr)
	}
}

// A store made with another arithmetic is not merged in, even under a new key.
func TestMergeForeignArithmetic(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "foreign.db")
	s, err := store.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Begin(store.RunSpec{Kind: "escape", Params: 1, Arith: "a machine that rounds differently"})
	if err != nil {
		t.Fatal(err)
	}
	s.Put(r, 0, map[string]float64{"t": 1})
	s.Close()
	args := []string{"merge", filepath.Join(dir, "new.db"), src}
	_, stderr, code := sgdlab(t, args...)
	checkError(t, args, stderr, code, 2)
	if !strings.Contains(stderr, "arithmetic") {
		t.Errorf("foreign arithmetic: %q", stderr)
	}
}

// A panic is one line; SGDLAB_DEBUG=1 adds the stack where it happened.
func TestPanicReport(t *testing.T) {
	p := fault.Recovered(func() (r any) {
		defer func() { r = recover() }()
		var m map[string]int
		m["x"] = 1 // a nil map write: a bug
		return nil
	}())
	var quiet, debug bytes.Buffer
	if code := exitStatus(&quiet, p); code != exitFailure || strings.Count(quiet.String(), "\n") != 1 ||
		!strings.Contains(quiet.String(), "internal error") {
		t.Errorf("quiet: %d %q", code, quiet.String())
	}
	t.Setenv("SGDLAB_DEBUG", "1")
	exitStatus(&debug, fmt.Errorf("wrapped: %w", p))
	if !strings.Contains(debug.String(), "goroutine") || !strings.Contains(debug.String(), "audit_test.go") {
		t.Errorf("SGDLAB_DEBUG=1 does not print the stack: %q", debug.String())
	}
}

// stableWhy names every criterion a minimum fails, and the SDE's criteria only as passed when
// they are.
func TestStableWhy(t *testing.T) {
	for _, c := range []struct {
		n                 int
		nc, etaH          float64
		step, chainStable bool
		prefix            string
		although          bool
	}{
		{2, 6, 0.5, true, true, "n = 2 < n_c = 6, eta h* = 0.5 < 2; contracts", false},
		{10, 4, 1, true, false, "n = 10 >= n_c = 4; the exact chain", false},
		{2, 3.333, 1.5, true, false, "the exact chain", true},
		{2, 2.667, 3, false, false, "eta h* = 3 >= 2", false},
		{5, 4, 3, false, true, "eta h* = 3 >= 2", false},
		{5, 4, 1, true, true, "n = 5 >= n_c = 4", false},
	} {
		got := stableWhy(c.n, c.nc, c.etaH, c.step, c.chainStable, "contracts")
		if !strings.HasPrefix(got, c.prefix) || strings.Contains(got, "although") != c.although {
			t.Errorf("%+v: %q", c, got)
		}
		if sdeOK := c.step && float64(c.n) < c.nc; strings.Contains(got, " < n_c = ") != sdeOK {
			t.Errorf("%+v: %q misstates whether the SDE's criteria pass", c, got)
		}
	}
}
