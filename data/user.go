package data

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sgdlab/sgdlab/npy"
)

// loadNPY: npy:x=X.npy,y=y.npy. X is (N, D) or (N,); y is (N,) or (N, K).
func loadNPY(sp *spec) (*Dataset, error) {
	xp, yp := sp.str("x", ""), sp.str("y", "")
	if len(sp.pos) == 2 && xp == "" && yp == "" {
		xp, yp = sp.pos[0], sp.pos[1]
	}
	if xp == "" || yp == "" {
		return nil, fmt.Errorf("data spec npy: name both files, e.g. npy:x=X.npy,y=y.npy")
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
		return nil, fmt.Errorf("data: %s has %d rows but %s has %d: X and y must have one row per sample", xp, n, yp, ny)
	}
	return &Dataset{Spec: "npy:x=" + xp + ",y=" + yp, N: n, D: d, K: k, X: xa.Data, Y: ya.Data, Source: "user .npy files"}, nil
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

// loadCSV: csv:path=FILE[,targets=K]. Comma-separated numbers, one sample per line;
// the last K columns are targets. A first line that is not numeric is a header.
func loadCSV(sp *spec) (*Dataset, error) {
	path := sp.str("path", "")
	if path == "" && len(sp.pos) == 1 {
		path = sp.pos[0]
	}
	if path == "" {
		return nil, fmt.Errorf("data spec csv: name the file, e.g. csv:path=data.csv,targets=1")
	}
	k, err := sp.int("targets", 1)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var x, y []float64
	cols, n, line := -1, 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		vals := make([]float64, len(fields))
		numeric := true
		for i, fs := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(fs), 64)
			if err != nil {
				numeric = false
				break
			}
			vals[i] = v
		}
		if !numeric {
			if n == 0 && cols < 0 {
				cols = len(fields) // header
				continue
			}
			return nil, fmt.Errorf("data: %s line %d: a field is not a number", path, line)
		}
		if cols < 0 {
			cols = len(fields)
		}
		if len(fields) != cols {
			return nil, fmt.Errorf("data: %s line %d has %d columns, expected %d", path, line, len(fields), cols)
		}
		if cols <= k {
			return nil, fmt.Errorf("data: %s has %d columns, need more than targets=%d", path, cols, k)
		}
		x = append(x, vals[:cols-k]...)
		y = append(y, vals[cols-k:]...)
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("data: %s holds no rows of numbers", path)
	}
	return &Dataset{Spec: fmt.Sprintf("csv:path=%s,targets=%d", path, k), N: n, D: cols - k, K: k, X: x, Y: y, Source: "user CSV file"}, nil
}
