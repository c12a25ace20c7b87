package data

import (
	"fmt"
	"os"

	"github.com/sgdlab/sgdlab/internal/memory"
	"github.com/sgdlab/sgdlab/internal/specstr"
	"github.com/sgdlab/sgdlab/npy"
)

// loadNPY: npy:x=X.npy,y=y.npy. X is (N, D) or (N,); y is (N,) or (N, K).
func loadNPY(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	xp, err := sp.Str("x", "")
	if err != nil {
		return nil, err
	}
	yp, err := sp.Str("y", "")
	if err != nil {
		return nil, err
	}
	if pos := sp.Positional(); len(pos) == 2 && xp == "" && yp == "" {
		xp, yp = pos[0], pos[1]
	} else if len(pos) > 0 {
		return nil, sp.Errorf("unexpected %q; name both files, e.g. npy:x=X.npy,y=y.npy", pos[0])
	}
	if xp == "" || yp == "" {
		return nil, sp.Errorf("name both files, e.g. npy:x=X.npy,y=y.npy")
	}
	// float32 files double in memory; the file sizes bound what reading them allocates.
	if err := lim.Check("the dataset "+sp.Text, memory.Mul(2, fileSize(xp)+fileSize(yp))); err != nil {
		return nil, err
	}
	xa, err := npy.ReadFile(xp)
	if err != nil {
		return nil, err
	}
	ya, err := npy.ReadFile(yp)
	if err != nil {
		return nil, err
	}
	n, d, err := rowsCols(xa, xp)
	if err != nil {
		return nil, err
	}
	ny, k, err := rowsCols(ya, yp)
	if err != nil {
		return nil, err
	}
	if ny != n {
		return nil, fmt.Errorf("data: %s has %d rows but %s has %d: X and y must have one row per sample", xp, n, yp,
			ny)
	}
	return &Dataset{Spec: "npy:x=" + xp + ",y=" + yp, N: n, D: d, K: k, X: xa.Data, Y: ya.Data,
		Source: "user .npy files"}, nil
}

// fileSize is the size of the file at path (0 when it cannot be read: opening it reports why).
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func rowsCols(a npy.Array, path string) (int, int, error) {
	switch len(a.Shape) {
	case 1:
		return a.Shape[0], 1, nil
	case 2:
		return a.Shape[0], a.Shape[1], nil
	}
	return 0, 0, fmt.Errorf("data: %s has shape %v; expected (N,) or (N, D): reshape to two dimensions", path, a.Shape)
}
