package chain

import "math"

// grid is a regular grid of nodes over a box in one or two dimensions. The unknowns of the
// chain's equations are the nodes inside the region D the exit leaves; the value at nodes
// outside D is zero (the chain has left).
type grid struct {
	p      int
	lo, hi [2]float64
	h      [2]float64
	n      [2]int    // nodes per dimension (intervals + 1); n[1] = 1 in one dimension
	unk    []int32   // node -> unknown index, -1 outside D
	nodes  []int32   // unknown -> node
	x      []float64 // unknown -> position (unknowns x P)
}

// newGrid lays g intervals per dimension over [lo, hi] and marks the nodes inside D.
func newGrid(p int, lo, hi [2]float64, g int, inside func([]float64) bool) *grid {
	gr := &grid{p: p, lo: lo, hi: hi, n: [2]int{g + 1, 1}}
	if p == 2 {
		gr.n[1] = g + 1
	}
	for d := 0; d < p; d++ {
		gr.h[d] = (hi[d] - lo[d]) / float64(g)
	}
	gr.unk = make([]int32, gr.n[0]*gr.n[1])
	x := make([]float64, p)
	for node := range gr.unk {
		gr.pos(node, x)
		if inside(x) {
			gr.unk[node] = int32(len(gr.nodes))
			gr.nodes = append(gr.nodes, int32(node))
			gr.x = append(gr.x, x...)
		} else {
			gr.unk[node] = -1
		}
	}
	return gr
}

// size is the number of unknowns.
func (g *grid) size() int { return len(g.nodes) }

// pos writes the position of node into x.
func (g *grid) pos(node int, x []float64) {
	x[0] = g.lo[0] + float64(node%g.n[0])*g.h[0]
	if g.p == 2 {
		x[1] = g.lo[1] + float64(node/g.n[0])*g.h[1]
	}
}

// point returns the position of unknown i.
func (g *grid) point(i int) []float64 { return g.x[i*g.p : (i+1)*g.p] }

// stencil writes the unknowns and weights of the (bi)linear interpolation at x into idx
// and w and returns how many there are. Corners outside D are left out and the weights of
// the others renormalised (the value just inside the boundary is extrapolated from the
// inside rather than dragged to the zero outside, which would cost a first-order error in
// a band along a curved boundary). It returns -1 when x is outside the box.
func (g *grid) stencil(x []float64, idx *[4]int32, w *[4]float64) int {
	var c [2]int
	var f [2]float64
	for d := 0; d < g.p; d++ {
		u := (x[d] - g.lo[d]) / g.h[d]
		if !(u >= 0 && u <= float64(g.n[d]-1)) {
			return -1
		}
		c[d] = min(int(u), g.n[d]-2)
		f[d] = u - float64(c[d])
	}
	k, total := 0, 0.0
	add := func(node int, weight float64) {
		if j := g.unk[node]; j >= 0 && weight > 0 {
			idx[k], w[k] = j, weight
			total += weight
			k++
		}
	}
	base := c[0] + c[1]*g.n[0]
	if g.p == 1 {
		add(base, 1-f[0])
		add(base+1, f[0])
	} else {
		add(base, (1-f[0])*(1-f[1]))
		add(base+1, f[0]*(1-f[1]))
		add(base+g.n[0], (1-f[0])*f[1])
		add(base+g.n[0]+1, f[0]*f[1])
	}
	if k > 0 && total != 1 {
		for j := 0; j < k; j++ {
			w[j] /= total
		}
	}
	return k
}

// interp evaluates the grid function v (one value per unknown; zero outside D) at x.
func (g *grid) interp(v, x []float64) float64 {
	var idx [4]int32
	var w [4]float64
	k := g.stencil(x, &idx, &w)
	s := 0.0
	for j := 0; j < k; j++ {
		s += w[j] * v[idx[j]]
	}
	return s
}

// cellMeasure is the length (area) a node stands for, for densities.
func (g *grid) cellMeasure() float64 {
	m := g.h[0]
	if g.p == 2 {
		m *= g.h[1]
	}
	return math.Abs(m)
}
