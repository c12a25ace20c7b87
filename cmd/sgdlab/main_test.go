package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

func TestBadInputExitStatus(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "t.npy")
	os.WriteFile(trunc, []byte("\x93NUMPY\x01\x00\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }          \n\x00\x00"), 0o644)
	nan := filepath.Join(dir, "nan.csv")
	os.WriteFile(nan, []byte("1,2\nnan,3\n"), 0o644)
	cases := [][]string{
		{"train", "--model", "cnn", "--eta", "0.1"},
		{"train", "--model", "mlp:784-100-1:relu", "--data", "mnist:onehot:100", "--eta", "0.1"},
		{"train", "--eta", "0"},
		{"train", "--eta", "-1"},
		{"train", "--eta", "0.1", "--batch", "20000"},
		{"train", "--eta", "0.1", "--data", "csv:path=" + nan},
		{"train", "--eta", "0.1", "--init", trunc},
		{"train", "--eta", "0.1", "--data", "fashion:10,dir=" + dir},
		{"spectrum", "--theta", "1,2,3"},
		{"spectrum", "--k", "5"},
		{"escape", "--eta", "0.1", "--exit", "loss:c=1"},
		{"escape", "--eta", "0.1", "--exit", "loss:c=2", "--runs", "5", "--max-steps", "10"},
		{"stationary", "--dynamics", "logland", "--eta", "0.1", "--model", "linear:bias", "--data", "csv:path=" + filepath.Join(dir, "exact.csv")},
		{"stationary", "--eta", "0.1", "--start", "0.5"},
		{"stationary", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--eta", "0.5", "--dynamics", "decoupled", "--samples", "300", "--chains", "2"},
		{"escape", "--model", "doublewell", "--data", "gauss:N=1000,d=1,sigma=0.5", "--eta", "0.5", "--exit", "surface", "--to", "0.7"},
		{"nosuchcommand"},
	}
	os.WriteFile(filepath.Join(dir, "exact.csv"), []byte("1,2\n2,4\n3,6\n4,8\n"), 0o644)
	for _, c := range cases {
		_, stderr, code := sgdlab(t, append(c, "--quiet")...)
		if code != 2 {
			t.Errorf("%v: exit status %d, want 2 (stderr %q)", c, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if !strings.HasPrefix(lines[len(lines)-1], "sgdlab:") {
			t.Errorf("%v: no one-line error: %q", c, stderr)
		}
	}
	// A diverging run exits 3 and keeps its loss curve.
	out := filepath.Join(dir, "div")
	_, stderr, code := sgdlab(t, "train", "--eta", "50", "--data", "gauss:N=100,d=3", "--steps", "1000", "--out", out)
	if code != 3 || !strings.Contains(stderr, "diverged") {
		t.Errorf("divergence: status %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "loss.csv")); err != nil {
		t.Errorf("diverged run lost its loss curve: %v", err)
	}
}

func TestTrainJSONDeterministic(t *testing.T) {
	args := []string{"train", "--model", "mlp:784-20-1:relu", "--data", "mnist:parity:500", "--eta", "0.01", "--batch", "50", "--epochs", "3", "--json"}
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

// escapeArgs is an ensemble that takes a few seconds: long enough to be killed midway.
func escapeArgs(db string, extra ...string) []string {
	return append([]string{"escape", "--model", "linear", "--data", "gauss:N=10000,d=1", "--eta", "0.1", "--batch", "1",
		"--runs", "300", "--exit", "loss:c=1.5,2.2", "--workers", "2", "--quiet", "--store", db}, extra...)
}

func trajectories(t *testing.T, db string) map[int]string {
	t.Helper()
	s, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, _ := s.Runs()
	if len(runs) != 1 {
		t.Fatalf("%s holds %d runs, want 1", db, len(runs))
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
		if s, err := store.Open(killed); err == nil {
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

// Four shards merged equal a single run, record for record.
func TestShardsMerge(t *testing.T) {
	dir := t.TempDir()
	args := func(db string, extra ...string) []string {
		return append([]string{"escape", "--model", "linear", "--data", "gauss:N=1000,d=2", "--eta", "0.1", "--batch", "1",
			"--runs", "40", "--exit", "loss:c=1.5", "--quiet", "--store", db}, extra...)
	}
	single := filepath.Join(dir, "single.db")
	if _, e, code := sgdlab(t, args(single)...); code != 0 {
		t.Fatal(e)
	}
	var shards []string
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, "shard"+string(rune('0'+i))+".db")
		shards = append(shards, p)
		if _, e, code := sgdlab(t, args(p, "--shard", string(rune('0'+i))+"/4")...); code != 0 {
			t.Fatal(e)
		}
	}
	merged := filepath.Join(dir, "merged.db")
	if _, e, code := sgdlab(t, append([]string{"merge", merged}, shards...)...); code != 0 {
		t.Fatal(e)
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
}

// A fitted phi far from theory names the likely cause: a coarse SDE step (with the number
// of substeps that makes dt h* <= 0.05) or real SGD; within 3 standard errors, nothing.
func TestDeviationNote(t *testing.T) {
	if n := deviationNote("decoupled", 0.5, 1, 1, -58); !strings.Contains(n, "--substeps 10 ") {
		t.Errorf("coarse SDE step: %q", n)
	}
	if n := deviationNote("sgd", 0.5, 1, 1, -20); !strings.Contains(n, "real SGD") {
		t.Errorf("SGD: %q", n)
	}
	for _, n := range []string{deviationNote("decoupled", 0.5, 1, 1, 2.5), deviationNote("decoupled", 0.5, 1, 20, -4)} {
		if n != "" {
			t.Errorf("unexpected note %q", n)
		}
	}
}
