// Package report writes sgdlab's results for people and machines: JSON records, CSV
// tables, PNG plots and the static HTML report of `sgdlab reproduce`.
package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/sgdlab/sgdlab/internal/fileio"
)

// WriteFileAtomic writes b to path atomically (fileio.WriteAtomic).
func WriteFileAtomic(path string, b []byte) error { return fileio.WriteAtomic(path, b) }

// JSON marshals v with indentation (fields that may be NaN or infinite are num.Float, which
// writes them as null).
func JSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	b, err := JSON(v)
	if err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	return WriteFileAtomic(path, b)
}

// WriteCSV writes a header and rows of numbers to path.
func WriteCSV(path string, header []string, rows [][]float64) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	rec := make([]string, len(header))
	for _, r := range rows {
		for i, v := range r {
			rec[i] = csvNumber(v)
		}
		w.Write(rec[:len(r)])
	}
	w.Flush()
	return WriteFileAtomic(path, buf.Bytes())
}

// csvNumber formats v for a CSV cell: integers (step counts, epochs) in full digits, other
// numbers in the shortest form that reads back exactly.
func csvNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
