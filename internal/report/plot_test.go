package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/sgdlab/sgdlab/num"
)

func TestFigurePNG(t *testing.T) {
	f := Figure{Title: "t", XLabel: "x", YLabel: "y", LogX: true, LogY: true, Series: []Series{{Name: "a",
		X: []float64{0, 1, 2, 3}, Y: []float64{1, 2, 4, 8}, Style: Line}, {Name: "b", X: []float64{1, 2, 3},
		Y: []float64{1, 3, 9}, YErr: []float64{0.5, 5, 1}, Style: Points}}}
	b, err := f.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("not a PNG: %v", err)
	}
	// Error bars that are not measured (NaN) or infinite are left out, not drawn to a log axis's 0.
	if _, err := (Figure{Title: "bars", LogY: true, Series: []Series{{X: []float64{1, 2, 3},
		Y: []float64{1, 2, 3}, YErr: []float64{math.NaN(), math.Inf(1), 0.5}, Style: Points}}}).PNG(); err != nil {
		t.Fatal(err)
	}
	// Every value equal on log axes (gonum/plot would pad the range down to 0 and panic).
	if _, err := (Figure{Title: "flat", LogX: true, LogY: true, Series: []Series{{X: []float64{2, 2},
		Y: []float64{1, 1}, Style: Line}}}).PNG(); err != nil {
		t.Fatal(err)
	}
	// Nothing drawable (a negative value on a log axis, a NaN): empty axes, not a failed report.
	b, err = (Figure{Title: "empty", LogX: true, LogY: true, Series: []Series{{X: []float64{1, 2},
		Y: []float64{-1, math.NaN()}}}}).PNG()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("empty figure: not a PNG: %v", err)
	}
}

// JSON keeps encoding/json's rules; num.Float fields write NaN and infinities as null,
// integer CSV cells keep all their digits.
func TestJSONAndCSV(t *testing.T) {
	type rec struct {
		X    num.Float   `json:"x"`
		Y    []num.Float `json:"y,omitempty"`
		Skip int         `json:"-"`
		Z    float64     `json:"z"`
	}
	b, err := JSON(rec{X: num.Float(math.NaN()), Y: []num.Float{1, num.Float(math.Inf(-1))}, Z: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"x":null,"y":[1,null],"z":2.5}`
	if got := strings.Join(strings.Fields(string(b)), ""); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := JSON(rec{Z: math.NaN()}); err == nil {
		t.Fatal("a NaN in a plain float64 field must be an error, not silently null")
	}
	for v, want := range map[float64]string{1139454: "1139454", 0.1: "0.1", 1e20: "1e+20", -3: "-3",
		1.5e-7: "1.5e-07"} {
		if got := csvNumber(v); got != want {
			t.Errorf("%v: %q, want %q", v, got, want)
		}
	}
}
