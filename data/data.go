// Package data holds datasets as dense row-major matrices and loads them from
// spec strings: synthetic Gaussian regression data, MNIST (shipped with sgdlab),
// Fashion-MNIST and CIFAR-10 from local files, and user data from .npy or CSV.
package data

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Dataset is N samples of D inputs and K targets.
type Dataset struct {
	Spec    string    // the spec string the data was loaded from (canonical form)
	N, D, K int       // samples, input dimension, target dimension
	X       []float64 // N x D, row-major
	Y       []float64 // N x K, row-major
	Classes []int     // class index per sample when targets are one-hot (else nil)
	Source  string    // where the data came from, for reports
}

// Row returns the inputs of sample i (aliasing X).
func (d *Dataset) Row(i int) []float64 { return d.X[i*d.D : (i+1)*d.D] }

// Target returns the targets of sample i (aliasing Y).
func (d *Dataset) Target(i int) []float64 { return d.Y[i*d.K : (i+1)*d.K] }

// Validate checks shapes and that every value is finite. The error names the first
// offending entry so that the user can find it in their file.
func (d *Dataset) Validate() error {
	if d.N <= 0 || d.D <= 0 || d.K <= 0 {
		return fmt.Errorf("data %s: empty dataset (N=%d, D=%d, K=%d)", d.Spec, d.N, d.D, d.K)
	}
	if len(d.X) != d.N*d.D || len(d.Y) != d.N*d.K {
		return fmt.Errorf("data %s: X has %d values and y %d, expected %dx%d and %dx%d", d.Spec, len(d.X), len(d.Y), d.N, d.D, d.N, d.K)
	}
	for i, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("data %s: X[%d, %d] is %v: remove or impute non-finite values before training", d.Spec, i/d.D, i%d.D, v)
		}
	}
	for i, v := range d.Y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("data %s: y[%d, %d] is %v: remove or impute non-finite values before training", d.Spec, i/d.K, i%d.K, v)
		}
	}
	return nil
}

// Head returns a dataset holding the first n samples (sharing storage).
func (d *Dataset) Head(n int) *Dataset {
	if n >= d.N {
		return d
	}
	h := *d
	h.N = n
	h.X = d.X[:n*d.D]
	h.Y = d.Y[:n*d.K]
	if d.Classes != nil {
		h.Classes = d.Classes[:n]
	}
	return &h
}

// ErrNotAvailable is wrapped by errors for datasets that are not present on this machine
// (Fashion-MNIST without its Debian package, CIFAR-10 without a directory).
var ErrNotAvailable = errors.New("dataset not available")

// Options carries locations of data that does not ship with sgdlab.
type Options struct {
	FashionDir string // directory with the Fashion-MNIST IDX files (default: Debian's location)
	CIFARDir   string // directory with the CIFAR-10 binary batches
}

// DefaultFashionDir is where Debian's dataset-fashion-mnist package puts its files.
const DefaultFashionDir = "/usr/share/datasets/fashion-mnist"

// spec is a parsed dataset spec "name:pos1:pos2,key=value,...".
type spec struct {
	name string
	pos  []string
	kv   map[string]string
	used map[string]bool
}

func parseSpec(s string) (*spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty data spec: try gauss:N=10000,d=1 or mnist:parity:10000")
	}
	name, rest, _ := strings.Cut(s, ":")
	sp := &spec{name: strings.ToLower(name), kv: map[string]string{}, used: map[string]bool{}}
	if rest == "" {
		return sp, nil
	}
	for _, tok := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ':' }) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			sp.kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		} else {
			sp.pos = append(sp.pos, strings.TrimSpace(tok))
		}
	}
	return sp, nil
}

func (s *spec) str(key, def string) string {
	s.used[key] = true
	if v, ok := s.kv[key]; ok {
		return v
	}
	return def
}

func (s *spec) int(key string, def int) (int, error) {
	v := s.str(key, "")
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64) // accept 1e5
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1<<40 {
		return 0, fmt.Errorf("data spec %s: %s=%q is not a non-negative integer", s.name, key, v)
	}
	return int(f), nil
}

func (s *spec) float(key string, def float64) (float64, error) {
	v := s.str(key, "")
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("data spec %s: %s=%q is not a number", s.name, key, v)
	}
	return f, nil
}

// unused reports keys the loader did not consume (typos).
func (s *spec) unused() error {
	for k := range s.kv {
		if !s.used[k] {
			return fmt.Errorf("data spec %s: unknown option %q", s.name, k)
		}
	}
	return nil
}

// Load builds the dataset named by spec. Known specs:
//
//	gauss:N=100000,d=1,seed=1[,sigma=1]    x ~ N(0, I_d), y ~ N(0, sigma^2), independent
//	tanh:N=2000,w=2,sigma=0.3,seed=1        x ~ N(0, 1), y = tanh(w x) + sigma N(0, 1)
//	mnist:parity:10000 | mnist:onehot:N    first N MNIST training images in [0,1]
//	fashion:N[,dir=PATH]                    first N Fashion-MNIST training images, one-hot
//	cifar10:N[,dir=PATH]                    first N CIFAR-10 training images, one-hot
//	npy:x=X.npy,y=y.npy                     user data
//	csv:path=FILE.csv[,targets=1]           user data; the last `targets` columns are y
func Load(specStr string, opt Options) (*Dataset, error) {
	sp, err := parseSpec(specStr)
	if err != nil {
		return nil, err
	}
	var d *Dataset
	switch sp.name {
	case "gauss":
		d, err = loadGauss(sp)
	case "tanh":
		d, err = loadTanh(sp)
	case "mnist":
		d, err = loadMNIST(sp)
	case "fashion", "fashion-mnist", "fmnist":
		d, err = loadFashion(sp, opt)
	case "cifar10", "cifar":
		d, err = loadCIFAR(sp, opt)
	case "npy":
		d, err = loadNPY(sp)
	case "csv":
		d, err = loadCSV(sp)
	default:
		return nil, fmt.Errorf("unknown data spec %q: use gauss:N=...,d=..., tanh:N=...,w=...,sigma=..., mnist:parity:N, mnist:onehot:N, fashion:N, cifar10:N, npy:x=X.npy,y=y.npy or csv:path=FILE", specStr)
	}
	if err != nil {
		return nil, err
	}
	if err := sp.unused(); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// positionalN interprets a bare number among the positional tokens as the sample count.
func positionalN(sp *spec, def int) (int, []string, error) {
	n := def
	var rest []string
	for _, p := range sp.pos {
		if v, err := strconv.ParseFloat(p, 64); err == nil {
			if v <= 0 || v != math.Trunc(v) {
				return 0, nil, fmt.Errorf("data spec %s: sample count %q must be a positive integer", sp.name, p)
			}
			n = int(v)
		} else {
			rest = append(rest, strings.ToLower(p))
		}
	}
	if v, ok := sp.kv["N"]; ok {
		sp.used["N"] = true
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f != math.Trunc(f) {
			return 0, nil, fmt.Errorf("data spec %s: N=%q must be a positive integer", sp.name, v)
		}
		n = int(f)
	}
	return n, rest, nil
}

// oneHot fills Y (N x k) with one-hot encodings of labels.
func oneHot(labels []int, k int) []float64 {
	y := make([]float64, len(labels)*k)
	for i, c := range labels {
		y[i*k+c] = 1
	}
	return y
}
