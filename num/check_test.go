package num

import (
	"math"
	"strings"
	"testing"
)

type inner struct {
	P Float   `json:"p" check:"prob"`
	C float64 `json:"c" check:"cos"`
}

type rec struct {
	A     float64            `json:"a"`
	F     Float              `json:"f"`
	I     Float              `json:"i" check:"inf"`
	Pos   Float              `json:"pos" check:"pos"`
	In    *inner             `json:"in"`
	List  []inner            `json:"list"`
	M     map[string]Float   `json:"m" check:"nonneg"`
	Skip  float64            `json:"-"`
	Any   any                `json:"any"`
	inner float64            // unexported: not a result
	Deep  map[string][]Float `json:"deep"`
}

func TestCheck(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	good := func() rec {
		return rec{A: 1, F: Float(nan), I: Float(-inf), Pos: 2, In: &inner{P: 0.5, C: -1}, List: []inner{{P: 1}},
			M: map[string]Float{"x": 0, "y": Float(nan)}, Skip: nan, inner: nan, Any: 3.0,
			Deep: map[string][]Float{"k": {1, Float(nan)}}}
	}
	if err := Check(good()); err != nil {
		t.Fatalf("a valid record: %v", err)
	}
	for _, c := range []struct {
		edit func(*rec)
		want string
	}{
		{func(r *rec) { r.A = nan }, "a = NaN"},
		{func(r *rec) { r.A = inf }, "a = +Inf"},
		{func(r *rec) { r.F = Float(inf) }, "f = +Inf"},
		{func(r *rec) { r.Pos = 0 }, "pos = 0 is out of range (pos)"},
		{func(r *rec) { r.In.P = 1.5 }, "in.p = 1.5 is out of range (prob)"},
		{func(r *rec) { r.In.C = 1.1 }, "in.c = 1.1"},
		{func(r *rec) { r.List[0].P = -0.1 }, "list[0].p"},
		{func(r *rec) { r.M["x"] = -1 }, "m[x] = -1"},
		{func(r *rec) { r.Any = nan }, "any = NaN"},
		{func(r *rec) { r.Deep["k"][0] = Float(-inf) }, "deep[k][0]"},
	} {
		r := good()
		c.edit(&r)
		if err := Check(&r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}
