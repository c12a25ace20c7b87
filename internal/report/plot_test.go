package report

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
)

func TestFigurePNG(t *testing.T) {
	f := Figure{Title: "t", XLabel: "x", YLabel: "y", LogX: true, LogY: true, Series: []Series{
		{Name: "a", X: []float64{0, 1, 2, 3}, Y: []float64{1, 2, 4, 8}, Style: Line},
		{Name: "b", X: []float64{1, 2, 3}, Y: []float64{1, 3, 9}, YErr: []float64{0.5, 5, 1}, Style: Points},
	}}
	b, err := f.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("not a PNG: %v", err)
	}
	if _, err := (Figure{Title: "empty", LogY: true, Series: []Series{{X: []float64{1}, Y: []float64{-1}}}}).PNG(); err == nil {
		t.Fatal("a figure without drawable points must be an error")
	}
}

func TestJSONSanitizes(t *testing.T) {
	type inner struct {
		A float64 `json:"a"`
	}
	type rec struct {
		inner
		X    float64            `json:"x"`
		Y    []float64          `json:"y,omitempty"`
		Z    map[string]float64 `json:"z"`
		Skip int                `json:"-"`
		P    *inner             `json:"p,omitempty"`
		F    Float              `json:"f"`
	}
	b, err := JSON(rec{inner: inner{A: math.Inf(1)}, X: math.NaN(), Z: map[string]float64{"k": math.Inf(-1)}, F: Float(math.NaN())})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":null,"f":null,"x":null,"z":{"k":null}}`
	if got := strings.Join(strings.Fields(string(b)), ""); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
