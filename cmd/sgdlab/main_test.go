package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sgdlab/sgdlab/npy"
	"github.com/sgdlab/sgdlab/store"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sgdlab-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "sgdlab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sgdlab(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// checkError asserts the exit status and a one-line error without a Go stack trace.
func checkError(t *testing.T, args []string, stderr string, code, want int) {
	t.Helper()
	if code != want {
		t.Errorf("%v: exit status %d, want %d (stderr %q)", args, code, want, stderr)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("%v: stack trace in stderr: %q", args, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if want != 0 && (len(lines) != 1 || !strings.HasPrefix(lines[0], "sgdlab: ")) {
		t.Errorf("%v: not a one-line error: %q", args, stderr)
	}
}

// Hostile input of every class gets exit status 2 and one line naming what is wrong; the
// outside audit's list is a subtest.
func TestBadInputExitStatus(t *testing.T) {
	t.Run("audit", auditInputs)
	dir := t.TempDir()
	trunc := filepath.Join(dir, "t.npy")
	os.WriteFile(
		trunc,
		[]byte(
			"\x93NUMPY\x01\x00\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }          \n\x00\x00",
		),
		0o644,
	)
	huge := filepath.Join(dir, "huge.npy")
	os.WriteFile(
		huge,
		[]byte(
			"\x93NUMPY\x01\x00\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (9000000000,), }  \n\x00\x00",
		),
		0o644,
	)
	nan := filepath.Join(dir, "nan.csv")
	os.WriteFile(nan, []byte("1,2\nnan,3\n"), 0o644)
	exact := filepath.Join(dir, "exact.csv")
	os.WriteFile(exact, []byte("1,2\n2,4\n3,6\n4,8\n"), 0o644)
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("x"), 0o644)
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	foreign := filepath.Join(dir, "foreign.db")
	db, _ := sql.Open("sqlite", foreign)
	db.Exec("CREATE TABLE customers (id INTEGER)")
	db.Close()
	badParams := filepath.Join(dir, "params")
	os.MkdirAll(badParams, 0o755)
	os.WriteFile(filepath.Join(badParams, "E5.json"), []byte(`{"eta": -1}`), 0o644)
	zeroRuns := filepath.Join(dir, "zero")
	os.MkdirAll(zeroRuns, 0o755)
	os.WriteFile(filepath.Join(zeroRuns, "E5.json"), []byte(`{"runs": 0}`), 0o644)
	malformed := filepath.Join(dir, "malformed.json")
	os.WriteFile(malformed, []byte(`{"runs": `), 0o644)
	cases := []struct {
		args []string
		want string // a fragment of the message
	}{
		// specs and shapes
		{[]string{"train", "--model", "resnet", "--eta", "0.1", "--epochs", "1"}, "unknown model"},
		{[]string{"train", "--model", "cnn", "--eta", "0.1", "--epochs", "1"}, "needs layers"},
		{[]string{"train", "--model", "mlp:784-100-1:relu", "--data", "mnist:onehot:100", "--eta", "0.1", "--epochs",
			"1"}, "shape mismatch"},
		{[]string{"train", "--data", "gauss:N=100,typo=3", "--eta", "0.1", "--epochs", "1"}, "unknown option"},
		{[]string{"train", "--data", "csv:path=" + nan, "--eta", "0.1", "--epochs", "1"}, "NaN"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--init", trunc}, "truncated"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--init", huge}, "truncated"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "fashion:10,dir=" + dir}, "not found"},
		{[]string{"spectrum", "--theta", "1,2,3"}, "parameter vector"},
		{[]string{"spectrum", "--k", "5"}, "--k"},
		{[]string{"nosuchcommand"}, "unexpected argument"},
		// values: NaN, infinities, signs, ranges, conflicting flags
		{[]string{"train", "--eta", "0", "--epochs", "1"}, "--eta"},
		{[]string{"train", "--eta", "-1", "--epochs", "1"}, "--eta"},
		{[]string{"train", "--eta", "NaN", "--epochs", "1"}, "--eta"},
		{[]string{"train", "--eta", "0.1", "--batch", "20000", "--epochs", "1"}, "--batch"},
		{[]string{"train", "--eta", "0.1", "--momentum", "NaN", "--epochs", "1"}, "--momentum"},
		{[]string{"train", "--eta", "0.1", "--epochs", "9223372036854775807"}, "--epochs"},
		{[]string{"train", "--eta", "0.1", "--steps", "9223372036854775807"}, "--steps"},
		{[]string{"train", "--eta", "0.1", "--steps", "10", "--epochs", "2"}, "not both"},
		{[]string{"train", "--eta", "0.1"}, "--epochs or --steps"},
		{[]string{"spectrum", "--theta", "1,NaN"}, "--theta"},
		{[]string{"stationary", "--eta", "0.1", "--start", "NaN"}, "--start"},
		{[]string{"barrier", "--model", "doublewell", "--from", "Inf"}, "--from"},
		{[]string{"escape", "--eta", "0.1", "--exit", "loss:c=Inf"}, "finite"},
		{[]string{"escape", "--eta", "0.1", "--exit", "ball:r=NaN"}, "finite"},
		{[]string{"escape", "--eta", "0.1", "--exit", "loss:c=1"}, "must be > 1"},
		{[]string{"escape", "--model", "doublewell:a=NaN", "--eta", "0.1"}, "finite"},
		{[]string{"stationary", "--eta", "0.1", "--temperature=-1"}, "--temperature"},
		{[]string{"stationary", "--eta", "0.1", "--substeps", "0"}, "--substeps"},
		{[]string{"theory", "--eta", "Inf", "--batch", "1", "--hstar", "1"}, "--eta"},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "Inf"}, "--hstar"},
		{[]string{"theory", "--eta", "0.1", "--batch", "1", "--hstar", "1", "--hsaddle=-1", "--detratio", "NaN"},
			"--hsaddle"},
		{[]string{"escape", "--model", "linear", "--eta", "0.1", "--exit", "basin"}, "quadratic"},
		{[]string{"escape", "--eta", "0.1", "--exit", "loss:c=2", "--runs", "5", "--max-steps", "10"},
			"no run escaped"},
		{[]string{"stationary", "--dynamics", "logland", "--eta", "0.1", "--model", "linear:bias", "--data",
			"csv:path=" + exact}, "eps"},
		{[]string{"stationary", "--eta", "0.1", "--start", "0.5"}, "not a minimum"},
		{[]string{"escape", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--eta", "0.5", "--exit",
			"surface", "--to", "0.7"}, "--to: the second minimum"},
		{[]string{"stationary", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--eta", "0.5",
			"--start", "0.3"}, "--start: the start point"},
		{[]string{"escape", "--eta", "0.1", "--both"}, "--exit well"},
		// the exact chain's limits
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=100,d=3", "--eta", "0.1"}, "at most 2 parameters"},
		{[]string{"chain", "--eta", "0.1", "--exit", "basin"}, "basin"},
		{[]string{"chain", "--eta", "0.1", "--grid", "5"}, "--grid"},
		{[]string{"chain", "--eta", "0.1", "--loss", "ce", "--data", "mnist:onehot:100", "--model",
			"mlp:784-1-10"}, "parameters"},
		{[]string{"chain", "--eta", "0.1", "--batch", "0"}, "--batch"},
		{[]string{"chain", "--model", "linear", "--data", "gauss:N=10000,d=2", "--eta", "0.1", "--grid", "60000"},
			"memory"},
		// sizes beyond the machine: refused with the estimate, before allocating
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "gauss:N=1e12"}, "memory"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "gauss:N=3037000500,d=3037000500"},
			"not an integer"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "gauss:N=100,d=100000000", "--model", "linear"},
			"memory"},
		{[]string{"train", "--eta", "0.1", "--epochs", "1", "--data", "mnist:parity:100", "--model",
			"mlp:784-1000000000-1"}, "parameters"},
		{[]string{"escape", "--eta", "0.1", "--runs", "2000000000"}, "memory"},
		{[]string{"stationary", "--eta", "0.1", "--chains", "2000000000"}, "memory"},
		{[]string{"stationary", "--eta", "0.1", "--samples", "2000000000"}, "memory"},
		{[]string{"noise", "--model", "mlp:784-300-300-1", "--data", "mnist:parity:200", "--probes", "1000000"},
			"memory"},
		{[]string{"noise", "--data", "gauss:N=1000,d=1", "--max-memory", "1K"}, "memory"},
		// outputs checked before any work
		{[]string{"escape", "--eta", "0.1", "--runs", "20", "--out", file}, "--out"},
		{[]string{"runs", empty, "--out", dir}, "--out"},
		// stores
		{[]string{"runs", empty}, "empty"},
		{[]string{"runs", foreign}, "not an sgdlab store"},
		{[]string{"runs", filepath.Join(dir, "missing.db")}, "no such file"},
		{[]string{"escape", "--eta", "0.1", "--store", foreign}, "not an sgdlab store"},
		{[]string{"escape", "--eta", "0.1", "--shard", "4/4", "--store", filepath.Join(dir, "s.db")}, "--shard"},
		{[]string{"merge", filepath.Join(dir, "m.db"), filepath.Join(dir, "missing.db")}, "no such file"},
		// reproduce parameters: checked before any work
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r1"), "--params", badParams}, "eta = -1"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r2"), "--params", zeroRuns}, "runs = 0"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r3"), "--params", filepath.Join(dir, "nothere")},
			"no such file"},
		{[]string{"reproduce", "E5", "--out", filepath.Join(dir, "r4"), "--params", malformed}, "unexpected EOF"},
		{[]string{"reproduce", "E9", "--out", filepath.Join(dir, "r5")}, "unknown experiment"},
		// defaults that must adapt, and automatic minima that fail, say why
		{[]string{"noise", "--model", "mlp:2-8-1:tanh", "--data", "csv:path=" + exact, "--minimum", "nowhere.npy"},
			"--minimum"},
	}
	for _, c := range cases {
		args := append(c.args, "--quiet")
		start := time.Now()
		_, stderr, code := sgdlab(t, args...)
		checkError(t, args, stderr, code, 2)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: message %q lacks %q", c.args, stderr, c.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%v: bad input took %v to report", c.args, d)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r1", "E5")); err == nil {
		t.Error("reproduce did work before rejecting its parameters")
	}
	if st, _ := os.Stat(empty); st.Size() != 0 {
		t.Error("runs changed an empty file")
	}
}

// Defaults adapt to small models: noise on a 3-parameter model with the default --k, and an
// automatic minimum that does not exist becomes a note, not a failure.
func TestSmallModelDefaults(t *testing.T) {
	for _, args := range [][]string{{"noise", "--model", "linear", "--data", "gauss:N=200,d=3", "--theta",
		"0.1,0.2,0.3", "--json"}, {"noise", "--model", "mlp:2-8-1:tanh", "--data", "gauss:N=200,d=2", "--json"}} {
		out, stderr, code := sgdlab(t, args...)
		checkError(t, args, stderr, code, 0)
		var rec map[string]any
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

// Divergence is exit status 3; what finished is kept: the training loss curve, and no escape
// is counted for a diverged run.
func TestDivergence(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "div")
	args := []string{"train", "--eta", "50", "--data", "gauss:N=100,d=3", "--steps", "1000", "--out", out, "--quiet"}
	_, stderr, code := sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	if _, err := os.Stat(filepath.Join(out, "loss.csv")); err != nil {
		t.Errorf("diverged run lost its loss curve: %v", err)
	}
	db := filepath.Join(dir, "esc.db")
	args = []string{"escape", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.2", "--eta", "1000",
		"--runs", "5", "--exit", "well", "--max-steps", "5000", "--store", db, "--quiet"}
	stdout, stderr, code := sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	if !strings.Contains(stderr, "5 of 5 runs diverged") || !strings.Contains(stdout, "0 escaped") {
		t.Errorf("escape divergence: %q %q", stdout, stderr)
	}
	// The SDE dynamics diverge likewise (Euler-Maruyama on a quartic loss at a large step).
	args = []string{"stationary", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--eta", "0.5",
		"--dynamics", "decoupled", "--samples", "300", "--chains", "2", "--quiet"}
	_, stderr, code = sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	// One step that overshoots to an infinite loss is a divergence (the check before each step
	// saw a finite mini-batch loss), not an infinite final loss in the record.
	args = []string{"train", "--eta", "1e300", "--data", "tanh:N=50,w=2,sigma=0.5", "--steps", "1", "--quiet"}
	_, stderr, code = sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	// Losses and noise strengths logged on the way to the divergence that are no longer finite
	// are dropped from the record (they failed its check as infinities).
	args = []string{"train", "--eta", "1e300", "--model", "doublewell", "--data", "gauss:N=50,d=1,sigma=1e-150",
		"--epochs", "10", "--batch", "50", "--record-noise", "1", "--quiet"}
	_, stderr, code = sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	// The log landscape's time step shrinks with the loss: a climbing chain whose time never
	// reaches its next sample is still stopped (it once ran for ever).
	args = []string{"stationary", "--model", "doublewell:a=10", "--data", "gauss:N=20,d=3", "--eta", "1",
		"--dynamics", "logland", "--samples", "50", "--chains", "1", "--every", "10", "--quiet"}
	_, stderr, code = sgdlab(t, args...)
	checkError(t, args, stderr, code, 3)
	if n := len(trajectories(t, db)); n != 5 {
		t.Errorf("%d diverged runs recorded, want 5", n)
	}
}

func TestTrainJSONDeterministic(t *testing.T) {
	args := []string{"train", "--model", "mlp:784-20-1:relu", "--data", "mnist:parity:500", "--eta", "0.01",
		"--batch", "50", "--epochs", "3", "--json"}
	a, _, code := sgdlab(t, args...)
	b, _, _ := sgdlab(t, args...)
	if code != 0 {
		t.Fatalf("status %d", code)
	}
	var ra, rb map[string]any
	if err := json.Unmarshal([]byte(a), &ra); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, a)
	}
	json.Unmarshal([]byte(b), &rb)
	if ra["final_loss"] != rb["final_loss"] || ra["initial_loss"] == nil {
		t.Fatalf("runs differ or lack losses: %v vs %v", ra["final_loss"], rb["final_loss"])
	}
	if !(ra["final_loss"].(float64) < ra["initial_loss"].(float64)) {
		t.Fatalf("loss did not decrease: %v -> %v", ra["initial_loss"], ra["final_loss"])
	}
}

// interrupt starts the command, sends SIGINT after wait (or when ready reports true) and
// returns its stdout, stderr, exit status and how long it took to exit after the signal.
func interrupt(t *testing.T, wait time.Duration, ready func() bool, args ...string) (string, string, int,
	time.Duration) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && (ready == nil || !ready()) {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	sent := time.Now()
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code, time.Since(sent)
}

// Every long command stops within a second of SIGINT with status 130 and says what was kept.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs long commands")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "st.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"spectrum", "--model", "mlp:784-100-100-1", "--data", "mnist:parity:5000", "--quiet"}, "interrupt"},
		{[]string{"noise", "--model", "mlp:784-200-1", "--data", "mnist:parity:3000", "--quiet"}, "interrupt"},
		{[]string{"stationary", "--model", "mlp:1-1-1:tanh:nobias", "--data", "tanh:N=2000,w=2,sigma=0.5", "--eta",
			"0.1", "--chains", "200", "--samples", "20000",
			"--store", db, "--quiet"}, "run the same command again to resume"},
		{[]string{"escape", "--model", "mlp:1-1-1:tanh:nobias", "--data", "tanh:N=2000,w=2,sigma=0.5", "--eta", "0.1",
			"--runs", "500", "--exit", "loss:c=3",
			"--max-steps", "1000000", "--quiet"}, "without --store none was kept"},
	} {
		_, stderr, code, took := interrupt(t, 2*time.Second, nil, c.args...)
		checkError(t, c.args, stderr, code, 130)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: message %q lacks %q", c.args[0], stderr, c.want)
		}
		if took > time.Second {
			t.Errorf("%v: exited %v after SIGINT", c.args[0], took)
		}
	}
}

// After SIGINT, train's record gives the loss at the parameters it saved.
func TestTrainInterruptFinalLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for seconds")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	_, stderr, code, _ := interrupt(t, 2*time.Second, nil, "train", "--model", "mlp:784-100-1", "--data",
		"mnist:parity:2000", "--eta", "0.01", "--batch", "10", "--epochs", "200", "--log-every", "100000", "--out",
		out, "--quiet")
	checkError(t, nil, stderr, code, 130)
	var rec struct {
		FinalLoss float64 `json:"final_loss"`
		Steps     int64   `json:"steps"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "run.json"))
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	// Evaluate the loss at the saved theta independently (spectrum at that point).
	stdout, stderr, code := sgdlab(t, "spectrum", "--model", "mlp:784-100-1", "--data", "mnist:parity:2000",
		"--theta", filepath.Join(out, "theta.npy"), "--k", "1", "--probes", "2", "--steps", "5", "--no-blocks",
		"--json")
	checkError(t, nil, stderr, code, 0)
	var sp struct {
		Point struct {
			Loss float64 `json:"loss"`
		} `json:"point"`
	}
	json.Unmarshal([]byte(stdout), &sp)
	if math.Abs(sp.Point.Loss-rec.FinalLoss) > 1e-12*sp.Point.Loss || rec.Steps%100000 == 0 {
		t.Fatalf("final loss %v after %d steps, loss at the saved theta %v", rec.FinalLoss, rec.Steps, sp.Point.Loss)
	}
}

// escapeArgs is an ensemble that takes a few seconds: long enough to be killed midway.
func escapeArgs(db string, extra ...string) []string {
	return append(
		[]string{"escape", "--model", "linear", "--data", "gauss:N=10000,d=1", "--eta", "0.1", "--batch", "1",
			"--runs", "300", "--exit", "loss:c=1.5,2.2", "--workers", "2", "--quiet", "--store", db},
		extra...)
}

func trajectories(t *testing.T, db string) map[int]string {
	t.Helper()
	s, err := store.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, _ := s.Runs()
	var runs []store.Run // the escape ensembles (stored chain solutions and the like aside)
	for _, r := range all {
		if r.Kind == "escape" {
			runs = append(runs, r)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("%s holds %d escape runs, want 1", db, len(runs))
	}
	ts, _ := s.Trajectories(&runs[0])
	out := map[int]string{}
	for i, r := range ts {
		out[i] = string(r)
	}
	return out
}

// A run killed with SIGKILL mid-ensemble keeps what it recorded; resuming completes it with
// exactly the records of an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	dir := t.TempDir()
	killed, whole := filepath.Join(dir, "killed.db"), filepath.Join(dir, "whole.db")
	cmd := exec.Command(bin, escapeArgs(killed)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if s, err := store.OpenReadOnly(killed); err == nil {
			if runs, _ := s.Runs(); len(runs) == 1 {
				n = runs[0].Done
			}
			s.Close()
		}
		if n >= 30 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if n < 30 || n >= 300 {
		t.Fatalf("kill happened after %d trajectories; the test needs a mid-ensemble kill", n)
	}
	partial := trajectories(t, killed)
	if _, _, code := sgdlab(t, escapeArgs(killed)...); code != 0 {
		t.Fatalf("resume failed with status %d", code)
	}
	if _, _, code := sgdlab(t, escapeArgs(whole)...); code != 0 {
		t.Fatalf("uninterrupted run failed with status %d", code)
	}
	a, b := trajectories(t, killed), trajectories(t, whole)
	if len(a) != 300 || len(b) != 300 {
		t.Fatalf("%d and %d trajectories, want 300", len(a), len(b))
	}
	for i := range b {
		if a[i] != b[i] {
			t.Fatalf("trajectory %d: resumed %s vs uninterrupted %s", i, a[i], b[i])
		}
	}
	for i, r := range partial {
		if a[i] != r {
			t.Fatalf("trajectory %d changed on resume", i)
		}
	}
	t.Logf("killed after %d of 300 trajectories; resume completed them identically", len(partial))
}

// Four shards merged equal a single run, record for record; the Slurm variables give the
// same shards as --shard; merging again adds nothing and says so.
func TestShardsMerge(t *testing.T) {
	dir := t.TempDir()
	args := func(db string, extra ...string) []string {
		return append(
			[]string{"escape", "--model", "linear", "--data", "gauss:N=1000,d=2", "--eta", "0.1", "--batch", "1",
				"--runs", "40", "--exit", "loss:c=1.5", "--quiet", "--store", db},
			extra...)
	}
	single := filepath.Join(dir, "single.db")
	if _, e, code := sgdlab(t, args(single)...); code != 0 {
		t.Fatal(e)
	}
	var shards []string
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard%d.db", i))
		shards = append(shards, p)
		cmd := exec.Command(bin, args(p)...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i+1), "SLURM_ARRAY_TASK_MIN=1",
			"SLURM_ARRAY_TASK_MAX=4")
		if i%2 == 1 {
			cmd = exec.Command(bin, args(p, "--shard", fmt.Sprintf("%d/4", i))...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("shard %d: %v %s", i, err, out)
		}
	}
	merged := filepath.Join(dir, "merged.db")
	out, e, code := sgdlab(t, append([]string{"merge", merged}, shards...)...)
	if code != 0 || !strings.Contains(out, "40 trajectories added, 0 already present") {
		t.Fatalf("merge: %q %q", out, e)
	}
	out, _, _ = sgdlab(t, append([]string{"merge", merged}, shards...)...)
	if !strings.Contains(out, "0 trajectories added, 40 already present") {
		t.Fatalf("second merge: %q", out)
	}
	a, b := trajectories(t, single), trajectories(t, merged)
	if len(a) != 40 || len(b) != 40 {
		t.Fatalf("%d and %d trajectories", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("trajectory %d: single %s vs merged %s", i, a[i], b[i])
		}
	}
	cmd := exec.Command(bin, args(filepath.Join(dir, "bad.db"))...)
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=2")
	msg, _ := cmd.CombinedOutput()
	if !strings.Contains(string(msg), "outside the array of 2 tasks") {
		t.Errorf("SLURM_ARRAY_TASK_ID beyond the count: %s", msg)
	}
}

// runs: ids and key prefixes are separate forms; exports keep integers whole; a changed
// digit in a stored result is an exit-2 error naming the record.
func TestRunsCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "we?i#rd%.db")
	for _, c := range []string{"1.2", "1.5", "2"} {
		if _, e, code := sgdlab(t, "escape", "--eta", "0.1", "--runs", "5", "--exit", "loss:c="+c, "--store", db,
			"--quiet"); code != 0 {
			t.Fatal(e)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("store not created under its own name: %v", err)
	}
	out, _, code := sgdlab(t, "runs", db, "--run", "3", "--export", "json")
	var rec struct {
		Run struct {
			ID    int    `json:"id"`
			Label string `json:"label"`
		} `json:"run"`
	}
	if json.Unmarshal([]byte(out), &rec); code != 0 || rec.Run.ID != 3 ||
		!strings.Contains(rec.Run.Label, "loss:c=2") {
		t.Fatalf("--run 3 exported %+v", rec.Run)
	}
	csv, _, _ := sgdlab(t, "runs", db, "--run", "1", "--export", "csv")
	if strings.Contains(csv, "e+") {
		t.Fatalf("integers in exponent form: %s", csv)
	}
	s, _ := sql.Open("sqlite", "file:"+strings.NewReplacer("?", "%3F", "#", "%23", "%", "%25").Replace(db))
	tamper := `UPDATE trajectories SET result = replace(result, '"index":2', '"index":7') WHERE idx = 2 AND run_id = 1`
	if _, err := s.Exec(tamper); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, stderr, code := sgdlab(t, "runs", db, "--run", "1", "--export", "csv")
	checkError(t, nil, stderr, code, 2)
	if !strings.Contains(stderr, "trajectory 2") || !strings.Contains(stderr, "checksum") {
		t.Fatalf("tampered record: %q", stderr)
	}
}

// The CLI and reproduce share store keys: an E5 point computed by `sgdlab escape` is reused
// by `sgdlab reproduce E5`, which computes nothing for it.
func TestCLIAndReproduceShareTheStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "shared.db")
	params := filepath.Join(dir, "E5.json")
	os.WriteFile(
		params,
		[]byte(`{"N": 2000, "dims": [1], "eta": 0.1, "batch": 1, "sampling": "epoch", "levels": [1.2, 1.4, 1.6],
		"runs": 30, "dynamics": ["sgd"], "substeps": 5, "budget_factor": 1e9, "max_steps": 200000, "seed": 3}`),
		0o644,
	)
	args := []string{"escape", "--model", "linear", "--data", "gauss:N=2000,d=1,seed=3", "--dynamics", "sgd", "--eta",
		"0.1", "--batch", "1", "--sampling", "epoch", "--exit", "loss:c=1.2,1.4,1.6", "--runs", "30", "--max-steps",
		"200000", "--seed", "3", "--store", db, "--quiet"}
	if _, e, code := sgdlab(t, args...); code != 0 {
		t.Fatal(e)
	}
	before := trajectories(t, db)
	out, e, code := sgdlab(t, "reproduce", "E5", "--params", params, "--out", filepath.Join(dir, "rep"), "--store",
		db, "--quiet")
	if code != 0 {
		t.Fatal(e)
	}
	after := trajectories(t, db) // still exactly one run in the store: reproduce found the CLI's
	if len(after) != len(before) {
		t.Fatalf("reproduce recomputed: %d -> %d trajectories", len(before), len(after))
	}
	rep, _ := os.ReadFile(filepath.Join(dir, "rep", "report.json"))
	if !strings.Contains(string(rep), "sgdlab escape --model linear --data gauss:N=2000,d=1,seed=3") {
		t.Errorf("the report does not give the CLI command of the point:\n%s", out)
	}
}

// Parameter vectors are read from comma lists and .npy files with the flag named in errors.
// The chain command on the 1-D case: one record per level with the MFPT in t and in
// steps and the rate, consistent with each other, and the density files.
func TestChainCommand(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := sgdlab(t, "chain", "--model", "linear", "--data", "gauss:N=10000,d=1", "--eta", "0.1",
		"--batch", "1", "--exit", "loss:c=1.5,2", "--json", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rec struct {
		Levels []struct {
			Level     float64 `json:"level"`
			MFPT      float64 `json:"mfpt"`
			MFPTSteps float64 `json:"mfpt_steps"`
			Rate      float64 `json:"rate"`
		} `json:"levels"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Levels) != 2 || rec.Levels[0].Level != 1.5 || rec.Levels[1].Level != 2 {
		t.Fatalf("levels %+v", rec.Levels)
	}
	for _, l := range rec.Levels {
		if math.Abs(l.MFPT-0.1*l.MFPTSteps) > 1e-9*l.MFPT || !(l.Rate > 0) || !(l.MFPT > 0) {
			t.Errorf("level %+v", l)
		}
		// The quasi-stationary rate and the MFPT from the minimum describe the same escape:
		// within a factor 2 once the escape is rare.
		if r := l.Rate * l.MFPT; l.Level == 2 && (r < 0.5 || r > 2) {
			t.Errorf("level 2: rate x MFPT = %v", r)
		}
	}
	for _, k := range []string{"density_csv", "density_png", "record"} {
		if _, err := os.Stat(rec.Outputs[k]); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	human, _, code := sgdlab(t, "chain", "--model", "doublewell:a=0.25", "--data", "gauss:N=2000,d=1,sigma=0.25",
		"--eta", "0.2", "--exit", "well", "--grid", "400")
	if code != 0 || !strings.Contains(human, "MFPT") || !strings.Contains(human, "power law") {
		t.Errorf("double well: exit %d\n%s", code, human)
	}
}

// Weights trained elsewhere: train writes theta.safetensors, which --weights reads back on
// the other commands (the same loss), and bad weights files are one-line errors.
func TestWeightsFlag(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--model", "cnn:8x8x1-c2k3p1-m2-f3:tanh", "--data", "csv:path=" + writeCSVData(t, dir)}
	_, stderr, code := sgdlab(t, append([]string{"train", "--eta", "0.05", "--epochs", "2", "--batch", "5", "--out",
		dir,
		"--quiet"}, args...)...)
	if code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	w := filepath.Join(dir, "theta.safetensors")
	out, stderr, code := sgdlab(t, append([]string{"spectrum", "--weights", w, "--k", "3", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("spectrum --weights: %s", stderr)
	}
	var spec struct {
		Point struct {
			Loss float64 `json:"loss"`
		} `json:"point"`
	}
	json.Unmarshal([]byte(out), &spec)
	var run struct {
		FinalLoss float64 `json:"final_loss"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "run.json"))
	json.Unmarshal(b, &run)
	if math.Abs(spec.Point.Loss-run.FinalLoss) > 1e-12*run.FinalLoss {
		t.Errorf("loss at the weights %v, trained %v", spec.Point.Loss, run.FinalLoss)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"spectrum", "--weights", w, "--theta", "1,2"}, "not both"},
		{[]string{"noise", "--weights", filepath.Join(dir, "run.json")}, "--weights"},
		{[]string{"escape", "--eta", "0.1", "--weights", filepath.Join(dir, "nothere.safetensors")}, "--weights"},
	} {
		_, stderr, code := sgdlab(t, append(c.args, args...)...)
		checkError(t, c.args, stderr, code, 2)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %q lacks %q", c.args, stderr, c.want)
		}
	}
	_, stderr, code = sgdlab(t, "spectrum", "--model", "cnn:8x8x1-c3k3p1-m2-f3:tanh", "--data", "csv:path="+
		writeCSVData(t, dir), "--weights", w)
	checkError(t, nil, stderr, code, 2)
	if !strings.Contains(stderr, "conv1.weight has shape [2 1 3 3]") {
		t.Errorf("mis-shaped weights: %q", stderr)
	}
}

// writeCSVData writes 20 samples of 64 inputs and 3 targets.
func writeCSVData(t *testing.T, dir string) string {
	var sb strings.Builder
	for i := 0; i < 20; i++ {
		for j := 0; j < 67; j++ {
			if j > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, "%g", math.Sin(float64(i*67+j)))
		}
		sb.WriteString("\n")
	}
	p := filepath.Join(dir, "d.csv")
	os.WriteFile(p, []byte(sb.String()), 0o644)
	return p + ",targets=3"
}

func TestVectorFlag(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v.npy")
	npy.WriteFile(p, npy.Vector([]float64{1, 2}))
	if v, err := vector("--to", p); err != nil || len(v) != 2 {
		t.Fatal(v, err)
	}
	if _, err := vector("--from", "1,x"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Fatal(err)
	}
	npy.WriteFile(p, npy.Vector([]float64{1, math.NaN()}))
	if _, err := vector("--start", p); err == nil || !strings.Contains(err.Error(), "--start") {
		t.Fatal(err)
	}
}
