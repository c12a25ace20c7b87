package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
)

// CIFAR-10 binary format: each record is 1 label byte then 3072 pixel bytes
// (1024 red, 1024 green, 1024 blue, each 32x32 row-major); five training batches
// data_batch_1.bin ... data_batch_5.bin of 10000 records each.
const cifarRecord = 1 + 3*32*32

// loadCIFAR: cifar10:N[,dir=PATH]; inputs in [0,1] in channel-major order, one-hot targets.
func loadCIFAR(sp *specstr.Spec, opt Options, lim memory.Limit) (*Dataset, error) {
	n, rest, err := positionalN(sp, 10000)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, sp.Errorf("unknown option %q", rest[0])
	}
	if n > 50000 {
		return nil, sp.Errorf("CIFAR-10 has 50000 training images, %d requested", n)
	}
	if err := checkSize(lim, sp.Text, int64(n), 3072, 10); err != nil {
		return nil, err
	}
	dir, err := sp.Str("dir", opt.CIFARDir)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf(
			"%w: CIFAR-10 is not shipped with sgdlab and cannot be downloaded here: name the directory of its "+
				"binary version (data_batch_1.bin ... data_batch_5.bin, from cifar-10-binary.tar.gz) with dir=PATH "+
				"in the spec",
			ErrNotAvailable,
		)
	}
	x := make([]float64, 0, n*3072)
	labels := make([]int, 0, n)
	for b := 1; b <= 5 && len(labels) < n; b++ {
		path := filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", b))
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf(
					"%w: CIFAR-10 file %s not found: the directory must hold the binary version (data_batch_1.bin "+
						"... data_batch_5.bin)",
					ErrNotAvailable,
					path,
				)
			}
			return nil, fmt.Errorf("CIFAR-10: %w", err)
		}
		rec := make([]byte, cifarRecord)
		for len(labels) < n {
			_, err := io.ReadFull(f, rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("CIFAR-10 file %s is truncated (record %d incomplete)", path, len(labels))
			}
			if rec[0] > 9 {
				f.Close()
				return nil, fmt.Errorf("CIFAR-10 file %s: label %d is not 0-9 (corrupt file)", path, rec[0])
			}
			labels = append(labels, int(rec[0]))
			for _, p := range rec[1:] {
				x = append(x, float64(p)/255)
			}
		}
		f.Close()
	}
	if len(labels) < n {
		return nil, fmt.Errorf("CIFAR-10 in %s holds %d training images, %d requested", dir, len(labels), n)
	}
	return &Dataset{Spec: fmt.Sprintf("cifar10:%d", n), N: n, D: 3072, K: 10, X: x, Y: oneHot(labels, 10),
		Classes: labels, Source: "CIFAR-10 training batches " +
			"from " + dir}, nil
}
