// Package specstr parses the spec strings that name models, datasets and exits on the
// command line, with one grammar for all of them:
//
//	name[:token[:token...]]      tokens are separated by ':' or ','
//	token = value | key=value     a bare value after key=value (joined by ',') is another
//	                              value of the same key: loss:c=1.5,2,3
//
// Values are read through typed accessors that check them (finite numbers, integer
// ranges), and Done reports keys and positional tokens nobody asked for, so that a typo is
// an error rather than a default silently used.
package specstr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Spec is a parsed spec string.
type Spec struct {
	Kind string // what the spec names, for messages: "model", "data", "exit"
	Text string // the string as given
	Name string // lower-cased name before the first ':'
	pos  []string
	keys map[string][]string
	used map[string]bool
	// usedPos counts the positional tokens consumed by Positional.
	usedPos bool
}

// Parse splits s. kind names the sort of spec in error messages.
func Parse(kind, s string) (*Spec, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return nil, fmt.Errorf("empty %s spec", kind)
	}
	name, rest, _ := strings.Cut(text, ":")
	sp := &Spec{Kind: kind, Text: text, Name: strings.ToLower(strings.TrimSpace(name)), keys: map[string][]string{},
		used: map[string]bool{}}
	if sp.Name == "" {
		return nil, fmt.Errorf("%s spec %q has no name before ':'", kind, text)
	}
	last := "" // the key a bare value joined by ',' continues
	for _, group := range strings.Split(rest, ":") {
		last = ""
		for _, tok := range strings.Split(group, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" {
				if rest != "" {
					return nil, fmt.Errorf("%s spec %q has an empty item: remove the doubled ':' or ','", kind, text)
				}
				continue
			}
			if k, v, ok := strings.Cut(tok, "="); ok {
				k = strings.TrimSpace(k)
				if k == "" {
					return nil, fmt.Errorf("%s spec %q: %q has no key before '='", kind, text, tok)
				}
				if _, dup := sp.keys[k]; dup {
					return nil, fmt.Errorf("%s spec %q gives %s twice", kind, text, k)
				}
				sp.keys[k] = []string{strings.TrimSpace(v)}
				last = k
				continue
			}
			if last != "" {
				sp.keys[last] = append(sp.keys[last], tok)
				continue
			}
			sp.pos = append(sp.pos, tok)
		}
	}
	return sp, nil
}

// Errorf formats an error about this spec: `model spec "mlp:...": ...`.
func (s *Spec) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s spec %q: %s", s.Kind, s.Text, fmt.Sprintf(format, args...))
}

// Positional returns the positional tokens (and marks them as used).
func (s *Spec) Positional() []string {
	s.usedPos = true
	return s.pos
}

// Has reports whether key was given.
func (s *Spec) Has(key string) bool {
	_, ok := s.keys[key]
	return ok
}

// Str returns the single value of key, or def.
func (s *Spec) Str(key, def string) (string, error) {
	s.used[key] = true
	v, ok := s.keys[key]
	if !ok {
		return def, nil
	}
	if len(v) != 1 {
		return "", s.Errorf("%s takes one value, got %d (commas separate values: a file name holding a comma needs a link "+
			"without one)", key, len(v))
	}
	return v[0], nil
}

// Float returns key as a finite number within [lo, hi], or def when absent.
func (s *Spec) Float(key string, def, lo, hi float64) (float64, error) {
	v, err := s.Str(key, "")
	if err != nil || v == "" {
		return def, err
	}
	return s.number(key, v, lo, hi)
}

func (s *Spec) number(key, v string, lo, hi float64) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, s.Errorf("%s=%q is not a finite number", key, v)
	}
	if f < lo || f > hi {
		return 0, s.Errorf("%s=%v is outside [%g, %g]", key, f, lo, hi)
	}
	return f, nil
}

// Floats returns every value of key as finite numbers within [lo, hi] (nil when absent).
func (s *Spec) Floats(key string, lo, hi float64) ([]float64, error) {
	s.used[key] = true
	var out []float64
	for _, v := range s.keys[key] {
		f, err := s.number(key, v, lo, hi)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Int returns key as an integer within [lo, hi] (1e5 is accepted), or def when absent.
func (s *Spec) Int(key string, def, lo, hi int64) (int64, error) {
	v, err := s.Str(key, "")
	if err != nil || v == "" {
		return def, err
	}
	return ParseInt(v, lo, hi, func() error { return s.Errorf("%s=%q is not an integer in [%d, %d]", key, v, lo, hi) })
}

// ParseInt reads an integer written as digits or in exponent form (1e5) within [lo, hi];
// bad returns the error for anything else.
func ParseInt(v string, lo, hi int64, bad func() error) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < lo || n > hi {
			return 0, bad()
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, bad()
	}
	return int64(f), nil
}

// Done reports a key or positional token that no accessor consumed.
func (s *Spec) Done() error {
	for k := range s.keys {
		if !s.used[k] {
			return s.Errorf("unknown option %q", k)
		}
	}
	if !s.usedPos && len(s.pos) > 0 {
		return s.Errorf("unexpected %q", s.pos[0])
	}
	return nil
}
