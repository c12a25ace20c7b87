package num

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Check verifies every number of a result record before it is shown: the last line of
// defence against printing a wrong number with success. It walks v (structs, pointers,
// slices, arrays, maps, interfaces) and returns an error naming the first value that breaks
// a rule:
//
//   - a plain float64 must be finite: a quantity that can be undefined is a Float, whose NaN
//     means "not measured" (null in JSON) and is shown as such;
//   - a Float may be NaN but not infinite, unless its field is tagged check:"inf";
//   - a field tagged check:"prob" lies in [0, 1], check:"cos" in [-1, 1], check:"nonneg" is
//     at least 0 and check:"pos" greater than 0 (several rules separate with commas; NaN
//     Floats pass the range rules). A tag applies to every element of a slice or map field.
//
// Unexported fields and fields with the JSON name "-" are not results and are skipped.
func Check(v any) error {
	return check(reflect.ValueOf(v), "", nil, 0)
}

var floatType = reflect.TypeOf(Float(0))

// maxDepth bounds the walk (records are trees; a cycle would be a bug, not a hang).
const maxDepth = 64

func check(v reflect.Value, path string, rules []string, depth int) error {
	if !v.IsValid() || depth > maxDepth {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return check(v.Elem(), path, rules, depth+1)
	case reflect.Float64, reflect.Float32:
		return checkFloat(v.Float(), v.Type() == floatType, path, rules)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sub := path + "." + name
			if f.Anonymous && f.Tag.Get("json") == "" {
				sub = path // embedded: its fields are the record's own
			}
			var r []string
			if tag := f.Tag.Get("check"); tag != "" {
				r = strings.Split(tag, ",")
			}
			if err := check(v.Field(i), sub, r, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes
		}
		for i := 0; i < v.Len(); i++ {
			if err := check(v.Index(i), path+"["+strconv.Itoa(i)+"]", rules, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := check(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()), rules, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkFloat(x float64, isFloat bool, path string, rules []string) error {
	path = strings.TrimPrefix(path, ".")
	allowInf := false
	for _, r := range rules {
		allowInf = allowInf || r == "inf"
	}
	switch {
	case math.IsNaN(x) && isFloat:
		return nil // not measured
	case math.IsNaN(x), math.IsInf(x, 0) && !(isFloat && allowInf):
		return fmt.Errorf("%s = %v is not a finite number", path, x)
	}
	for _, r := range rules {
		ok := true
		switch r {
		case "prob":
			ok = x >= 0 && x <= 1
		case "cos":
			ok = x >= -1-1e-12 && x <= 1+1e-12
		case "nonneg":
			ok = x >= 0
		case "pos":
			ok = x > 0
		case "inf":
		default:
			return fmt.Errorf("%s: unknown check rule %q", path, r)
		}
		if !ok {
			return fmt.Errorf("%s = %v is out of range (%s)", path, x, r)
		}
	}
	return nil
}
