package escape

import (
	"context"
	"math"

	"gonum.org/v1/gonum/stat"

	"github.com/sgdlab/sgdlab/num"
	"github.com/sgdlab/sgdlab/sde"
	"github.com/sgdlab/sgdlab/seed"
)

// Occupation of two minima (docs/theory.md, "Which minimum SGD prefers"). A long run is
// labelled at every step by the last core it visited, a core being the ball of radius
// r |theta_X - theta_s| around minimum X (the well exit's ball): between two visits of
// different cores the run belongs to the one it left. By renewal, the fraction of time
// labelled A is T_AB / (T_AB + T_BA) with T_XY the mean first-passage time from X's core to
// Y's, so occupations and escape rates measure the same preference two ways.

// Core is a ball around a minimum.
type Core struct {
	Center []float64 `json:"center"`
	Radius float64   `json:"radius"`
}

func (c Core) holds(theta []float64) bool {
	s := 0.0
	for i, v := range theta {
		d := v - c.Center[i]
		s += d * d
	}
	return s <= c.Radius*c.Radius
}

// OccupationRun is one long run: the time labelled A and B in each of its blocks (for batch
// means) and the transitions A -> B and B -> A.
type OccupationRun struct {
	Index       int          `json:"index"`
	Blocks      [][2]float64 `json:"blocks"`
	Transitions [2]int       `json:"transitions"`
	Diverged    bool         `json:"diverged,omitempty"`
}

// OccupationTrajectory runs long run i (generator seed.Stream(s, i)) for steps steps from
// start, labelled first by the core start lies in (A when in neither), in blocks of equal
// length. A run whose parameters stop being finite ends Diverged with the blocks it
// finished.
func OccupationTrajectory(ctx context.Context, fac *sde.Factory, cores [2]Core, start []float64, i int, s uint64,
	steps int64, blocks int) (OccupationRun, error) {
	dyn, err := fac.New(seed.Stream(s, uint64(i)))
	if err != nil {
		return OccupationRun{}, err
	}
	r := OccupationRun{Index: i}
	theta := append([]float64(nil), start...)
	label := 0
	if cores[1].holds(theta) {
		label = 1
	}
	per := max(steps/int64(blocks), 1)
	var cur [2]float64
	for k := int64(1); k <= steps; k++ {
		dt := dyn.Step(theta)
		if other := 1 - label; cores[other].holds(theta) {
			r.Transitions[label]++
			label = other
		}
		cur[label] += dt
		if k%per == 0 {
			r.Blocks = append(r.Blocks, cur)
			cur = [2]float64{}
			if !finite(theta) {
				r.Diverged = true
				return r, nil
			}
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
		}
	}
	return r, nil
}

// OccupationStats is the fraction of time labelled A over runs, with its standard error from
// batch means over all blocks, and the transitions seen.
type OccupationStats struct {
	FractionA   num.Float `json:"fraction_a"` // NaN (null) before any time near a core
	SE          num.Float `json:"se"`         // NaN (null) with fewer than two blocks
	Blocks      int       `json:"blocks"`
	Transitions [2]int    `json:"transitions"`
	Diverged    int       `json:"diverged,omitempty"`
	Runs        []int     `json:"runs"` // the indices of the runs pooled
}

// Occupations pools the runs.
func Occupations(runs []OccupationRun) OccupationStats {
	var st OccupationStats
	var fs []float64
	var ta, tb float64
	for _, r := range runs {
		for _, b := range r.Blocks {
			if b[0]+b[1] > 0 {
				fs = append(fs, b[0]/(b[0]+b[1]))
				ta, tb = ta+b[0], tb+b[1]
			}
		}
		st.Transitions[0] += r.Transitions[0]
		st.Transitions[1] += r.Transitions[1]
		if r.Diverged {
			st.Diverged++
		}
		st.Runs = append(st.Runs, r.Index)
	}
	st.Blocks = len(fs)
	st.FractionA, st.SE = num.Float(math.NaN()), num.Float(math.NaN())
	if ta+tb > 0 {
		st.FractionA = num.Float(ta / (ta + tb))
	}
	if len(fs) > 1 {
		st.SE = num.Float(stat.StdDev(fs, nil) / math.Sqrt(float64(len(fs))))
	}
	return st
}
