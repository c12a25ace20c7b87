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

	"github.com/sgdlab/sgdlab/fault"
	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
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

// MaxValue bounds the size of every input and target: squares of residuals (and their sums
// over samples) must stay finite. The gauss generator's largest coefficients stay below it.
const MaxValue = 1e152

// Validate checks shapes and that every value is finite and at most MaxValue in size. The error names the first
// offending entry so that the user can find it in their file.
func (d *Dataset) Validate() error {
	if d.N <= 0 || d.D <= 0 || d.K <= 0 {
		return fmt.Errorf("data %s: empty dataset (N=%d, D=%d, K=%d)", d.Spec, d.N, d.D, d.K)
	}
	if len(d.X) != d.N*d.D || len(d.Y) != d.N*d.K {
		return fmt.Errorf("data %s: X has %d values and y %d, expected %dx%d and %dx%d", d.Spec, len(d.X), len(d.Y),
			d.N, d.D, d.N, d.K)
	}
	for _, m := range []struct {
		name string
		vals []float64
		cols int
	}{{"X", d.X, d.D}, {"y", d.Y, d.K}} {
		for i, v := range m.vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("data %s: %s[%d, %d] is %v: remove or impute non-finite values before training",
					d.Spec, m.name, i/m.cols, i%m.cols, v)
			}
			if math.Abs(v) > MaxValue {
				return fmt.Errorf("data %s: %s[%d, %d] = %g is beyond the range sgdlab computes with (|value| <= "+
					"%g, so that squared residuals stay finite): rescale the data", d.Spec, m.name, i/m.cols, i%m.cols,
					v, MaxValue)
			}
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
	// MaxBytes refuses datasets whose values would take more memory than this, before
	// loading them (0: the memory available on the machine).
	MaxBytes int64
}

// DefaultFashionDir is where Debian's dataset-fashion-mnist package puts its files.
const DefaultFashionDir = "/usr/share/datasets/fashion-mnist"

// Load builds the dataset named by spec; every error is of class fault.ErrInvalid (the spec,
// a file or a value is unusable). Known specs:
//
//	gauss:N=100000,d=1,seed=1[,sigma=1]    x ~ N(0, I_d), y ~ N(0, sigma^2), independent
//	tanh:N=2000,w=2,sigma=0.3,seed=1        x ~ N(0, 1), y = tanh(w x) + sigma N(0, 1)
//	mnist:parity:10000 | mnist:onehot:N    first N MNIST training images in [0,1]
//	fashion:N[,dir=PATH]                    first N Fashion-MNIST training images, one-hot
//	cifar10:N[,dir=PATH]                    first N CIFAR-10 training images, one-hot
//	npy:x=X.npy,y=y.npy                     user data
//	csv:path=FILE.csv[,targets=1]           user data; the last `targets` columns are y
func Load(specStr string, opt Options) (*Dataset, error) {
	d, err := load(specStr, opt)
	return d, fault.AsInvalid(err)
}

func load(specStr string, opt Options) (*Dataset, error) {
	sp, err := specstr.Parse("data", specStr)
	if err != nil {
		return nil, fmt.Errorf("%w: try gauss:N=10000,d=1 or mnist:parity:10000", err)
	}
	lim := memory.Limit{Cap: opt.MaxBytes}
	var d *Dataset
	switch sp.Name {
	case "gauss":
		d, err = loadGauss(sp, lim)
	case "tanh":
		d, err = loadTanh(sp, lim)
	case "mnist":
		d, err = loadMNIST(sp, lim)
	case "fashion", "fashion-mnist", "fmnist":
		d, err = loadFashion(sp, opt, lim)
	case "cifar10", "cifar":
		d, err = loadCIFAR(sp, opt, lim)
	case "npy":
		d, err = loadNPY(sp, lim)
	case "csv":
		d, err = loadCSV(sp, lim)
	default:
		return nil, fmt.Errorf(
			"unknown data spec %q: use gauss:N=...,d=..., tanh:N=...,w=...,sigma=..., mnist:parity:N, "+
				"mnist:onehot:N, fashion:N, cifar10:N, npy:x=X.npy,y=y.npy or csv:path=FILE",
			specStr,
		)
	}
	if err != nil {
		return nil, err
	}
	if err := sp.Done(); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// MaxSamples bounds N in a data spec (beyond it no machine holds the data).
const MaxSamples = 1 << 40

// checkSize refuses a dataset of n samples of d inputs and k targets that does not fit
// in memory, before anything is allocated.
func checkSize(lim memory.Limit, spec string, n, d, k int64) error {
	return lim.Check("the dataset "+spec, memory.Floats(n, d+k))
}

// positionalN reads the sample count (a bare number among the positional tokens, or N=)
// and returns the other positional tokens lower-cased.
func positionalN(sp *specstr.Spec, def int) (int, []string, error) {
	n := int64(def)
	var rest []string
	bad := func(v string) func() error {
		return func() error { return sp.Errorf("sample count %q must be a positive integer", v) }
	}
	for _, p := range sp.Positional() {
		if _, err := strconv.ParseFloat(p, 64); err == nil {
			v, err := specstr.ParseInt(p, 1, MaxSamples, bad(p))
			if err != nil {
				return 0, nil, err
			}
			n = v
		} else {
			rest = append(rest, strings.ToLower(p))
		}
	}
	v, err := sp.Int("N", n, 1, MaxSamples)
	return int(v), rest, err
}

// oneHot fills Y (N x k) with one-hot encodings of labels.
func oneHot(labels []int, k int) []float64 {
	y := make([]float64, len(labels)*k)
	for i, c := range labels {
		y[i*k+c] = 1
	}
	return y
}
