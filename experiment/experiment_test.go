package experiment

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/store"
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
	os.WriteFile(filepath.Join(pdir, "E5.json"), []byte(`{"N": 2000, "dims": [1], "eta": 0.1, "batch": 1, "sampling": "epoch", "levels": [1.2, 1.4, 1.6],
		"runs": 30, "dynamics": ["sgd"], "substeps": 5, "budget_factor": 100, "max_steps": 1000000, "seed": 3}`), 0o644)
	os.WriteFile(filepath.Join(pdir, "E1.json"), []byte(`{"data": "mnist:parity:200", "model": "mlp:784-20-1:relu", "eta": 0.01, "batch": 50, "epochs": [0, 2], "seed": 1}`), 0o644)
	exps, _ := Find([]string{"E5", "E1", "E3"})
	opt := SuiteOptions{Out: out, Params: pdir, Ens: ensemble.Env{Store: st, Shard: store.All, Workers: 2}, Version: "test"}
	rep, err := Reproduce(context.Background(), exps, opt)
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
		if r.Status != DataMissing && (r.Verdict == "" || len(r.Figures) == 0) {
			t.Fatalf("%s has no verdict or figure", r.ID)
		}
	}
	if rep.Results[2].Status != DataMissing {
		t.Fatalf("E3 without CIFAR-10 must say the data are missing, got %s", rep.Results[2].Status)
	}
	var saved e5Params
	b, _ := os.ReadFile(filepath.Join(out, "params", "E5.json"))
	if err := json.Unmarshal(b, &saved); err != nil || saved.Runs != 30 || saved.N != 2000 {
		t.Fatalf("edited parameters not used: %+v %v", saved, err)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(html), "data:image/png;base64,") || !strings.Contains(string(html), "E5") {
		t.Fatal("index.html missing or without embedded figures")
	}
	// A rerun recomputes nothing: the store already holds every trajectory.
	runs, _ := st.Runs()
	before := 0
	for _, r := range runs {
		before += r.Done
	}
	rep2, err := Reproduce(context.Background(), exps[:1], opt)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = st.Runs()
	after := 0
	for _, r := range runs {
		after += r.Done
	}
	if after != before || rep2.Results[0].Numbers[0].Value != rep.Results[0].Numbers[0].Value {
		t.Fatalf("rerun changed the store (%d -> %d trajectories) or the result", before, after)
	}
	// The report opens in headless Chromium without errors (when Chromium is installed:
	// CI installs it).
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Log("chromium not installed: report rendering not checked")
		return
	}
	shot := filepath.Join(out, "shot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(out, "chrome"),
		"--enable-logging=stderr", "--v=0", "--screenshot="+shot, "--window-size=1200,2000", "file://"+filepath.Join(out, "index.html"))
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
