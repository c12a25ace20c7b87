package strictjson

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		in, want string
		opt      Options
	}{
		{`{"a": 1, "b": [1, 2]}`, "", Options{NoNull: true}},
		{`{"a": 1, "a": 2}`, `"a" appears twice in the top level`, Options{}},
		{`{"x": {"y": 1, "y": 1}}`, `"y" appears twice in x`, Options{}},
		{`{"x": [{"y": 1}, {"y": 1, "y": 2}]}`, `"y" appears twice in x.1`, Options{}},
		{`{"runs": null}`, "runs is null", Options{NoNull: true}},
		{`{"runs": null}`, "", Options{}},
		{`{"runs": `, "", Options{NoNull: true}}, // syntax: left to the decoder
		{`[1, null]`, "1 is null", Options{NoNull: true}},
	} {
		err := Check([]byte(c.in), c.opt)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}
