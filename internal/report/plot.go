package report

import (
	"bytes"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Style is how a series is drawn.
type Style int

const (
	Line   Style = iota // connected line
	Points              // markers (with error bars when YErr is set)
	Steps               // histogram outline
	Dashed              // dashed line (theory curves)
)

// Series is one curve of a Figure.
type Series struct {
	Name string
	X, Y []float64
	YErr []float64 // optional symmetric error bars (Points only)
	Style
}

// Figure is a 2-D plot with optional logarithmic axes, rendered to PNG.
type Figure struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []Series
	Width, Height         vg.Length // default 16cm x 11cm
}

var palette = []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{255, 127, 14, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255}, color.RGBA{227, 119,
		194, 255}, color.RGBA{127, 127, 127, 255}}

// keep reports whether a point can be drawn on the figure's axes.
func (f Figure) keep(x, y float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return false
	}
	return !(f.LogX && x <= 0) && !(f.LogY && y <= 0)
}

// PNG renders the figure.
func (f Figure) PNG() ([]byte, error) {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	if f.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if f.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	drawn := 0
	// The data's range on each axis: a log axis whose values are all equal would be padded
	// to include 0 (a panic in gonum/plot), so it is widened by a decade each way instead.
	xr, yr := [2]float64{math.Inf(1), math.Inf(-1)}, [2]float64{math.Inf(1), math.Inf(-1)}
	for i, s := range f.Series {
		col := palette[i%len(palette)]
		var pts plotter.XYs
		var errs plotter.YErrors
		for j := range s.X {
			if j < len(s.Y) && f.keep(s.X[j], s.Y[j]) {
				pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
				xr = [2]float64{math.Min(xr[0], s.X[j]), math.Max(xr[1], s.X[j])}
				yr = [2]float64{math.Min(yr[0], s.Y[j]), math.Max(yr[1], s.Y[j])}
				if s.YErr != nil {
					hi := s.YErr[j]
					if !(hi >= 0) || math.IsInf(hi, 0) {
						hi = 0 // no error bar where the error is not measured (NaN) or not finite
					}
					lo := hi
					if f.LogY && s.Y[j]-lo <= 0 {
						lo = s.Y[j] * 0.999
					}
					errs = append(errs, struct{ Low, High float64 }{lo, hi})
				}
			}
		}
		if len(pts) == 0 {
			continue
		}
		drawn++
		switch s.Style {
		case Points:
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Color = col
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			p.Add(sc)
			p.Legend.Add(s.Name, sc)
			if errs != nil {
				eb, err := plotter.NewYErrorBars(struct {
					plotter.XYer
					plotter.YErrorer
				}{pts, errs})
				if err == nil {
					eb.LineStyle.Color = col
					p.Add(eb)
				}
			}
		default:
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			l.Color = col
			l.Width = vg.Points(1.5)
			if s.Style == Steps {
				l.StepStyle = plotter.PostStep
			}
			if s.Style == Dashed {
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(l)
			p.Legend.Add(s.Name, l)
		}
	}
	if f.LogX && drawn > 0 && xr[0] == xr[1] {
		p.X.Min, p.X.Max = xr[0]/10, xr[1]*10
	}
	if f.LogY && drawn > 0 && yr[0] == yr[1] {
		p.Y.Min, p.Y.Max = yr[0]/10, yr[1]*10
	}
	if drawn == 0 {
		// Nothing was measured (or nothing finite and, on log axes, positive): empty axes that
		// say so, rather than a failed report.
		p.Title.Text += " (no measured points to draw)"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, 10, 1, 10
	}
	w, h := f.Width, f.Height
	if w == 0 {
		w, h = 16*vg.Centimeter, 11*vg.Centimeter
	}
	c := vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WritePNG renders the figure into path.
func (f Figure) WritePNG(path string) error {
	b, err := f.PNG()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}
