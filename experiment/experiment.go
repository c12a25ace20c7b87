// Package experiment holds the paper's experiments (THEORY.md section 6) and sgdlab's
// extensions as named, configurable units. Each has default parameters for a quick run
// (minutes on two cores, conclusions visible) and for the paper's scale, writes its data and
// figures into its own directory, routes every ensemble through the run store (so runs
// resume and shard), and returns a Result stating the paper's claim, the theory's
// prediction, the measurement with intervals and a verdict in words.
package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sgdlab/sgdlab/data"
	"github.com/sgdlab/sgdlab/ensemble"
	"github.com/sgdlab/sgdlab/internal/report"
)

// Env is what an experiment runs with.
type Env struct {
	Ctx   context.Context
	Ens   ensemble.Env
	Data  data.Options
	Dir   string // the experiment's output directory
	Full  bool
	Stage func(msg string) // progress messages (may be nil)
}

func (e *Env) stage(format string, args ...any) {
	if e.Stage != nil {
		e.Stage(fmt.Sprintf(format, args...))
	}
}

// Experiment is one named unit.
type Experiment struct {
	ID    string
	Title string
	Paper bool // part of the paper (E1-E6) rather than an extension
	// Defaults returns a pointer to the default parameters (quick or full).
	Defaults func(full bool) any
	// Run performs the experiment with params (the type Defaults returns).
	Run func(env *Env, params any) (*Result, error)
	// Weight is the rough share of the quick suite's time, for progress estimates.
	Weight float64
}

// Number is a measured or predicted quantity.
type Number struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Err    float64 `json:"err,omitempty"`    // standard error (or half-width as stated in Name)
	Theory float64 `json:"theory,omitempty"` // the prediction it is compared with, if any
	Note   string  `json:"note,omitempty"`
}

// Figure is a PNG with the CSV of the data behind it (paths relative to the report).
type Figure struct {
	Title   string `json:"title"`
	PNG     string `json:"png"`
	CSV     string `json:"csv,omitempty"`
	Caption string `json:"caption,omitempty"`
}

// Table is a small table for the report.
type Table struct {
	Title  string     `json:"title"`
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

// Status values of a Result.
const (
	Agrees      = "agrees"
	Deviates    = "deviates"
	Partial     = "partial"
	DataMissing = "data missing"
	Failed      = "failed"
	Sharded     = "shard only"
)

// Result is an experiment's outcome.
type Result struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Paper   bool     `json:"paper"`
	Claim   string   `json:"claim"`
	Theory  string   `json:"theory"`
	Setup   string   `json:"setup"`
	Numbers []Number `json:"numbers"`
	Tables  []Table  `json:"tables,omitempty"`
	Figures []Figure `json:"figures,omitempty"`
	Status  string   `json:"status"`
	Verdict string   `json:"verdict"`
	Notes   []string `json:"notes,omitempty"`
	Params  any      `json:"params"`
	Elapsed float64  `json:"elapsed_s"`
}

// All returns the experiments in report order.
func All() []*Experiment {
	return []*Experiment{e1, e2, e3, e4, e5, e6, x1, x2}
}

// Find returns the experiments named by ids ("all" for every one).
func Find(ids []string) ([]*Experiment, error) {
	if len(ids) == 0 || (len(ids) == 1 && strings.EqualFold(ids[0], "all")) {
		return All(), nil
	}
	var out []*Experiment
	for _, id := range ids {
		found := false
		for _, e := range All() {
			if strings.EqualFold(e.ID, id) {
				out = append(out, e)
				found = true
			}
		}
		if !found {
			var known []string
			for _, e := range All() {
				known = append(known, e.ID)
			}
			return nil, fmt.Errorf("unknown experiment %q: choose from %s or all", id, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// Params returns the default parameters of e, overridden by the JSON file at path if it
// exists (a file the user edited); unknown fields are errors.
func Params(e *Experiment, full bool, path string) (any, error) {
	p := e.Defaults(full)
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return p, nil
		}
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("parameters of %s in %s: %w", e.ID, path, err)
	}
	return p, nil
}

// figure renders f into env.Dir/name.png, writes the CSV behind it and returns the entry
// (paths relative to the report directory, which is env.Dir's parent).
func (e *Env) figure(name string, f report.Figure, header []string, rows [][]float64, caption string) (Figure, error) {
	png := filepath.Join(e.Dir, name+".png")
	if err := f.WritePNG(png); err != nil {
		return Figure{}, err
	}
	fig := Figure{Title: f.Title, PNG: rel(e.Dir, png), Caption: caption}
	if header != nil {
		csv := filepath.Join(e.Dir, name+".csv")
		if err := report.WriteCSV(csv, header, rows); err != nil {
			return Figure{}, err
		}
		fig.CSV = rel(e.Dir, csv)
	}
	return fig, nil
}

func rel(dir, p string) string { return filepath.Join(filepath.Base(dir), filepath.Base(p)) }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// timed runs fn and records the elapsed time in the result.
func timed(fn func() (*Result, error)) (*Result, error) {
	t0 := time.Now()
	r, err := fn()
	if r != nil {
		r.Elapsed = time.Since(t0).Seconds()
	}
	return r, err
}
