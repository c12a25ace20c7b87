package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

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

// loadCSV: csv:path=FILE[,targets=K]. Comma-separated numbers (RFC 4180: fields may be
// quoted), one sample per line; the last K columns are targets. A first line that is not
// numeric is a header; lines starting with # are comments.
func loadCSV(sp *specstr.Spec, lim memory.Limit) (*Dataset, error) {
	path, err := sp.Str("path", "")
	if err != nil {
		return nil, err
	}
	if pos := sp.Positional(); path == "" && len(pos) == 1 {
		path = pos[0]
	} else if len(pos) > 0 {
		return nil, sp.Errorf("unexpected %q; name the file with path=", pos[0])
	}
	if path == "" {
		return nil, sp.Errorf("name the file, e.g. csv:path=data.csv,targets=1")
	}
	k64, err := sp.Int("targets", 1, 1, 1<<20)
	if err != nil {
		return nil, err
	}
	k := int(k64)
	// A number takes at least two bytes of text ("1,"), so values <= size/2.
	if err := lim.Check("the dataset "+sp.Text, memory.Floats(fileSize(path)/2+1)); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = -1 // checked below, with a message that names the line
	r.ReuseRecord = true
	var x, y []float64
	cols, n := -1, 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", path, err)
		}
		vals, numeric := parseRow(rec)
		if !numeric {
			if n == 0 && cols < 0 {
				cols = len(rec) // header
				continue
			}
			return nil, fmt.Errorf("data: %s line %d: a field is not a number", path, line)
		}
		if cols < 0 {
			cols = len(rec)
		}
		if len(rec) != cols {
			return nil, fmt.Errorf("data: %s line %d has %d columns, expected %d", path, line, len(rec), cols)
		}
		if cols <= k {
			return nil, fmt.Errorf("data: %s has %d columns, need more than targets=%d", path, cols, k)
		}
		x = append(x, vals[:cols-k]...)
		y = append(y, vals[cols-k:]...)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("data: %s holds no rows of numbers", path)
	}
	return &Dataset{Spec: fmt.Sprintf("csv:path=%s,targets=%d", path, k), N: n, D: cols - k, K: k, X: x, Y: y,
		Source: "user CSV file"}, nil
}

// parseRow reads every field as a number; false if one is not.
func parseRow(rec []string) ([]float64, bool) {
	vals := make([]float64, len(rec))
	for i, fs := range rec {
		v, err := strconv.ParseFloat(strings.TrimSpace(fs), 64)
		if err != nil {
			return nil, false
		}
		vals[i] = v
	}
	return vals, true
}
