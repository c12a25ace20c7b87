package num

import (
	"encoding/json"
	"math"
	"testing"
)

func TestFloatJSON(t *testing.T) {
	in := []Float{1.5, Float(math.NaN()), Float(math.Inf(1)), Float(math.Inf(-1)), 0, 1e-300, 123456789.125}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[1.5,null,null,null,0,1e-300,123456789.125]" {
		t.Fatalf("got %s", b)
	}
	var out []Float
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		w := in[i]
		if math.IsInf(float64(w), 0) {
			w = Float(math.NaN())
		}
		if !(v == w || (math.IsNaN(float64(v)) && math.IsNaN(float64(w)))) {
			t.Errorf("%d: %v -> %v", i, in[i], v)
		}
	}
	if err := json.Unmarshal([]byte(`"x"`), &out[0]); err == nil {
		t.Error("a string must not decode as a number")
	}
}
