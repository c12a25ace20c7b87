// Package strictjson finds what encoding/json accepts silently but a careful reader of a
// parameter file or a file header should refuse: an object key given twice (encoding/json
// keeps the last one) and null values (encoding/json leaves the field at its default).
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Options says what Check refuses besides duplicate keys.
type Options struct {
	// NoNull refuses null anywhere (a parameter file's null would silently keep a default).
	NoNull bool
}

// Check walks one JSON value and returns an error naming the first duplicate key (with its
// path, e.g. levels or a.b) or, with NoNull, the first null. Syntax errors are left to the
// decoder that reads the value afterwards (it words them better); Check then returns nil.
func Check(b []byte, opt Options) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := walk(dec, nil, opt)
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func walk(dec *json.Decoder, path []string, opt Options) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	where := strings.Join(path, ".")
	if where == "" {
		where = "the top level"
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if seen[key] {
					return fmt.Errorf("the key %q appears twice in %s: give each key once", key, where)
				}
				seen[key] = true
				if err := walk(dec, append(path, key), opt); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(dec, append(path, fmt.Sprint(i)), opt); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
	case nil:
		if opt.NoNull {
			return fmt.Errorf("%s is null: give a value, or leave the key out for the default", where)
		}
	}
	return nil
}
