// Package num holds Float, a float64 for records that are written as JSON: scientific
// records contain NaN and infinities legitimately (an undefined standard error, an
// infinite mean time when nothing escaped), which encoding/json refuses; Float writes them
// as null and reads null back as NaN.
package num

import (
	"encoding/json"
	"math"
	"strconv"
)

// Float is a float64 whose JSON form is null when it is not finite.
type Float float64

// MarshalJSON writes the number, or null for NaN and infinities.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v) // encoding/json's own number format
}

// UnmarshalJSON reads a number, or null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Floats converts a slice of float64 to a slice of Float (sharing nothing).
func Floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// AllFinite reports whether every value of v is a finite number. Dense solvers (LU,
// eigendecompositions) check their input with it first: gonum's LAPACK loops forever on NaN.
func AllFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
