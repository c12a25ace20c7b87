// Package experiment holds the paper's experiments (docs/theory.md, "The experiments") and
// sgdlab's extensions as named, configurable units. Each has default parameters for a quick
// run (minutes on two cores) and for the paper's scale, and runs in two steps: a
// measurement through the study layer (so every computation is in the run store, resumes,
// shards, and is shared with the command-line tool), then a pure verdict function that
// turns the measured numbers and named criteria into a status and the claims it supports.
// Tables and figures are drawn from the same numbers.
package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/strictjson"
	"github.com/sgdlab/sgdlab/internal/workpool"
	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/study"
)

// Env is what an experiment runs with.
type Env struct {
	Ctx   context.Context
	Study study.Env
	Dir   string // the experiment's output directory
	Full  bool
}

func (e *Env) stage(format string, args ...any) {
	if e.Study.Stage != nil {
		e.Study.Stage(fmt.Sprintf(format, args...))
	}
}

// Params are an experiment's parameters, loaded from (and written to) a JSON file.
type Params interface {
	// Validate reports the first unusable value (class fault.ErrInvalid).
	Validate() error
}

// Experiment is one named unit.
type Experiment struct {
	ID    string
	Title string
	Paper bool // part of the paper (E1-E6) rather than an extension
	// Defaults returns the default parameters (quick or full), a pointer to the type Run takes.
	Defaults func(full bool) Params
	// Run measures with params and returns the result with its verdict.
	Run func(env *Env, params Params) (*Result, error)
	// Weight is the rough share of the quick suite's time, for progress estimates.
	Weight float64
}

// Number is a measured or predicted quantity.
type Number struct {
	Name   string    `json:"name"`
	Value  num.Float `json:"value"`
	Err    num.Float `json:"err,omitempty"`    // standard error (or half-width as stated in Name)
	Theory num.Float `json:"theory,omitempty"` // the prediction it is compared with, if any
	Note   string    `json:"note,omitempty"`
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
	// Status is the verdict against the paper; ExactStatus that of sgdlab's exact
	// discrete-time prediction (the chain, phi_eta) against real SGD, "not applicable" where
	// the experiment has none. Both come from Checks, as do Verdict and Criteria.
	Status      Status      `json:"status"`
	ExactStatus Status      `json:"exact_status"`
	Checks      []Check     `json:"checks"`
	Verdict     string      `json:"verdict"`
	Criteria    []Criterion `json:"criteria,omitempty"`
	Notes       []string    `json:"notes,omitempty"`
	Params      Params      `json:"params"`
	Elapsed     float64     `json:"elapsed_s"`
}

// judge sets the result's statuses, checks, verdict text and criteria from the verdict.
func (r *Result) judge(v Verdict) {
	r.Status, r.ExactStatus, r.Checks = v.Status(Paper), v.Status(Exact), v.Checks
	r.Verdict, r.Criteria = v.Text(), v.Criteria()
}

// All returns the experiments in report order.
func All() []*Experiment {
	return []*Experiment{e1, e2, e3, e4, e5, e6, x1, x2, x3}
}

// Find returns the experiments named by ids ("all" for every one), each once, in the order
// of All.
func Find(ids []string) ([]*Experiment, error) {
	if len(ids) == 0 || (len(ids) == 1 && strings.EqualFold(ids[0], "all")) {
		return All(), nil
	}
	want := map[*Experiment]bool{}
	for _, id := range ids {
		found := false
		for _, e := range All() {
			if strings.EqualFold(e.ID, id) {
				want[e], found = true, true
			}
		}
		if !found {
			var known []string
			for _, e := range All() {
				known = append(known, e.ID)
			}
			return nil, fault.Invalid("unknown experiment %q: choose from %s or all", id, strings.Join(known, ", "))
		}
	}
	var out []*Experiment
	for _, e := range All() {
		if want[e] {
			out = append(out, e)
		}
	}
	return out, nil
}

// LoadParams returns the default parameters of e, overridden by the JSON file at path when
// path is not empty, and validated. Unknown fields, malformed JSON, a missing file and
// unusable values are errors of class fault.ErrInvalid.
func LoadParams(e *Experiment, full bool, path string) (Params, error) {
	p := e.Defaults(full)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fault.Invalid("parameters of %s: %v", e.ID, errors.Unwrap(err))
		}
		if err := strictjson.Check(b, strictjson.Options{NoNull: true}); err != nil {
			return nil, fault.Invalid("parameters of %s in %s: %v", e.ID, path, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, fault.Invalid("parameters of %s in %s: %v", e.ID, path, err)
		}
		if dec.More() {
			return nil, fault.Invalid("parameters of %s in %s: more than one JSON value", e.ID, path)
		}
	}
	if err := p.Validate(); err != nil {
		where := "defaults"
		if path != "" {
			where = path
		}
		return nil, fault.Invalid("parameters of %s (%s): %v", e.ID, where, err)
	}
	return p, nil
}

// parallel runs fn(0..n-1) on the ensemble's workers and returns the first error.
func parallel(env *Env, n int, fn func(i int) error) error {
	return workpool.Each(env.Ctx, n, env.Study.Ens.Workers, fn)
}
