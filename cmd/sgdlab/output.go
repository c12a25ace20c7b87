package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/sgdlab/sgdlab/internal/report"
	"github.com/sgdlab/sgdlab/num"
)

// header is what every command's JSON record starts with, and the files it wrote.
type header struct {
	Command string            `json:"command"`
	Version string            `json:"version"`
	Outputs map[string]string `json:"outputs,omitempty"`
}

func newHeader(command string) header { return header{Command: command, Version: version} }

// writeOut writes b to path, or to stdout when path is empty.
func writeOut(e *env, path string, b []byte) error {
	if path == "" {
		_, err := e.out.Write(b)
		return err
	}
	return report.WriteFileAtomic(path, b)
}

// flatten turns nested JSON values into dotted keys; arrays become key.0, key.1, ...
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, val, out)
		}
	case []any:
		if len(x) > 64 {
			out[prefix+".len"] = strconv.Itoa(len(x))
			return
		}
		for i, val := range x {
			flatten(prefix+"."+strconv.Itoa(i), val, out)
		}
	case nil:
		out[prefix] = ""
	case float64:
		out[prefix] = strconv.FormatFloat(x, 'f', -1, 64)
		if x != float64(int64(x)) {
			out[prefix] = strconv.FormatFloat(x, 'g', -1, 64)
		}
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

func csvBytes(header []string, rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(rows)
	return buf.Bytes()
}

// printOutputs lists written files in a stable order.
func printOutputs(e *env, outs map[string]string) {
	keys := make([]string, 0, len(outs))
	for k := range outs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(e.out, "  wrote %s: %s\n", k, outs[k])
	}
}

// pow10 formats 10^l10 with four significant digits, also where the number itself is beyond
// float64's range (a rate of 10^-3000 prints as 1e-3000): the mantissa and the exponent come
// from the logarithm. A logarithm that is itself not finite is named as such.
func pow10(l10 float64) string {
	switch {
	case math.IsNaN(l10):
		return "not defined"
	case math.IsInf(l10, -1): // even the logarithm overflows: say what is known
		return "below 10^(-1.797e+308)"
	case math.IsInf(l10, 1):
		return "above 10^(1.797e+308)"
	case math.Abs(l10) < 300:
		return fmt.Sprintf("%.4g", math.Pow(10, l10))
	case math.Abs(l10) >= 1e15: // the exponent itself is a float
		return fmt.Sprintf("10^(%.4g)", l10)
	}
	e := math.Floor(l10)
	m := math.Pow(10, l10-e)
	if m >= 9.9995 { // rounding to four digits carries into the exponent
		m, e = 1, e+1
	}
	return fmt.Sprintf("%.4ge%+d", m, int64(e))
}

// fv formats a number that may be "not measured" (NaN): the words instead of NaN.
func fv(format string, x num.Float) string {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return "not measured"
	}
	return fmt.Sprintf(format, float64(x))
}
