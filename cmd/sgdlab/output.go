package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"

	"github.com/sgdlab/sgdlab/internal/report"
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
