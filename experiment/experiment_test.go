package experiment

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/store"
	"github.com/sgdlab/sgdlab/study"
)

// A reduced suite runs end to end: parameter files written, edited parameters honoured,
// results and report written, ensembles recorded in the store and reused on a rerun.
func TestReproduceSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs small experiments")
	}
	out := t.TempDir()
	st, err := store.Open(filepath.Join(out, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Edited parameters: a tiny E5 and E1.
	pdir := filepath.Join(out, "edited")
	os.MkdirAll(pdir, 0o755)
	os.WriteFile(
		filepath.Join(pdir, "E5.json"),
		[]byte(`{"N": 2000, "dims": [1], "eta": 0.1, "batch": 1, "sampling": "epoch", "levels": [1.2, 1.4, 1.6],
		"runs": 30, "dynamics": ["sgd"], "substeps": 5, "budget_factor": 100, "max_steps": 1000000, "seed": 3}`),
		0o644,
	)
	os.WriteFile(
		filepath.Join(pdir, "E1.json"),
		[]byte(
			`{"data": "mnist:parity:200", "model": "mlp:784-20-1:relu", "eta": 0.01, "batch": 50, "epochs": [0, 2], "seed": 1}`,
		),
		0o644,
	)
	os.WriteFile(filepath.Join(pdir, "E3.json"), []byte(`{"data": "cifar10:50", "model": "cnn:32x32x3-c2k3p1-m2-f10:relu",
		"stand_in_data": "mnist:onehot:50", "stand_in_model": "cnn:28x28x1-c2k3p1-m2-f10:relu", "loss": "mse",
		"eta": 0.1, "batch": 25, "epochs": 4, "fit_from_epoch": 0, "noise_every_epochs": 1, "seed": 1}`), 0o644)
	exps, _ := Find([]string{"E5", "E1", "E3"})
	params, err := Plan(exps, false, pdir)
	if err != nil {
		t.Fatal(err)
	}
	opt := SuiteOptions{Out: out, Study: study.Env{Ens: ensemble.Env{Store: st, Workers: 2}}, Version: "test"}
	rep, err := Reproduce(context.Background(), exps, params, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 3 || !rep.Complete {
		t.Fatalf("%d results", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Status == Failed {
			t.Fatalf("%s failed: %s", r.ID, r.Verdict)
		}
		if r.Status != NotMeasured && (r.Verdict == "" || len(r.Figures) == 0) {
			t.Fatalf("%s has no verdict or figure", r.ID)
		}
	}
	if rep.Results[0].ID != "E1" || rep.Results[1].ID != "E3" {
		t.Fatalf("results not in report order: %s %s", rep.Results[0].ID, rep.Results[1].ID)
	}
	// Without CIFAR-10 E3 runs the same architecture on the stand-in data and says so.
	if e3 := rep.Results[1]; e3.Status == NotMeasured || len(e3.Notes) == 0 ||
		!strings.HasPrefix(e3.Notes[0], "Stand-in: mnist:onehot:50") {
		t.Fatalf("E3 without CIFAR-10 must run the stand-in: %s %v", e3.Status, e3.Notes)
	}
	var saved e5Params
	b, _ := os.ReadFile(filepath.Join(out, "params", "E5.json"))
	if err := json.Unmarshal(b, &saved); err != nil || saved.Runs != 30 || saved.N != 2000 {
		t.Fatalf("edited parameters not used: %+v %v", saved, err)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(html), "data:image/png;base64,") ||
		!strings.Contains(string(html), "E5") {
		t.Fatal("index.html missing or without embedded figures")
	}
	// A rerun recomputes nothing, E1's training and spectra included: the store already
	// holds every measurement, and the report is the same.
	runs, _ := st.Runs()
	before := 0
	for _, r := range runs {
		before += r.Done
	}
	t0 := time.Now()
	rep2, err := Reproduce(context.Background(), exps, params, opt)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = st.Runs()
	after := 0
	for _, r := range runs {
		after += r.Done
	}
	if after != before {
		t.Fatalf("rerun changed the store (%d -> %d records)", before, after)
	}
	for i, r := range rep2.Results {
		a, _ := json.Marshal(r.Numbers)
		b, _ := json.Marshal(rep.Results[i].Numbers)
		if string(a) != string(b) || r.Verdict != rep.Results[i].Verdict {
			t.Fatalf("%s: the rerun's numbers or verdict differ:\n%s\n%s", r.ID, a, b)
		}
	}
	t.Logf("first run %.1fs, rerun from the store %.1fs", rep.Elapsed, time.Since(t0).Seconds())
	// The report opens in headless Chromium without errors (when Chromium is installed:
	// CI installs it).
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Log("chromium not installed: report rendering not checked")
		return
	}
	shot := filepath.Join(out, "shot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(out, "chrome"), "--enable-logging=stderr", "--v=0", "--screenshot="+shot,
		"--window-size=1200,2000", "file://"+filepath.Join(out, "index.html"))
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, msg)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("no screenshot: %v", err)
	}
	for _, line := range strings.Split(string(msg), "\n") {
		if strings.Contains(line, "CONSOLE") && strings.Contains(strings.ToLower(line), "error") {
			t.Fatalf("page error in Chromium: %s", line)
		}
	}
}

// Prose never shows NaN or an infinity: they are worded.
func TestWordNonFinite(t *testing.T) {
	r := &Result{Verdict: "rate NaN, ratio +Inf; Infinite care; NaNa", Notes: []string{"(-Inf)"},
		Tables: []Table{{Rows: [][]string{{"NaN", "1"}}}}, Checks: []Check{{Claim: "z = NaN."}}}
	r.wordNonFinite()
	if r.Verdict != "rate not measured, ratio beyond range; Infinite care; NaNa" || r.Notes[0] != "(beyond range)" ||
		r.Tables[0].Rows[0][0] != "not measured" || r.Checks[0].Claim != "z = not measured." {
		t.Fatalf("%q %q %q %q", r.Verdict, r.Notes, r.Tables[0].Rows[0], r.Checks[0].Claim)
	}
}
