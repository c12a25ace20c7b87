package model

import (
	"math"

	"github.com/sgdlab/sgdlab/internal/linalg"
)

// layerOp is one operation of a CNN on a batch of b samples, each of in().Size() values in and
// out().Size() values out. The methods are the pieces of backpropagation and of its
// R-operator (forward mode over reverse mode), with theta the parameters and v a direction:
//
//	forward    y = op(theta, x)
//	tangent    ry = (d op/dx) rx + (d op/dtheta) v           (rx nil: x is data; y = op(x))
//	backward   dx = (d op/dx)^T dy                            (dx nil: not needed)
//	grad       g += (d op/dtheta)^T dy                        (parameters only)
//	perSample  rows_i = (d op/dtheta)^T dy_i per sample
//	rbackward  rdx = (d op/dx)^T rdy + R{(d op/dx)^T} dy and hv += R{(d op/dtheta)^T dy}
//
// An op keeps scratch space, so the ops of one evaluator are not shared.
type layerOp interface {
	out() Shape
	nparams() int
	offset() int
	setOffset(off int)
	newScratch(maxB int) layerOp
	forward(theta, x, y []float64, b int)
	tangent(theta, v, x, y, rx, ry []float64, b int)
	backward(theta, x, y, dy, dx []float64, b int)
	grad(x, dy, g []float64, b int)
	perSample(x, dy, rows []float64, stride, b int)
	rbackward(theta, v, x, y, rx, dy, rdy, rdx, hv []float64, b int)
}

// noParams is embedded by operations without parameters.
type noParams struct{}

func (noParams) nparams() int                                   { return 0 }
func (noParams) offset() int                                    { return 0 }
func (noParams) setOffset(int)                                  {}
func (noParams) grad(x, dy, g []float64, b int)                 {}
func (noParams) perSample(x, dy, rows []float64, stride, b int) {}

// convOp is a 2-D convolution through im2col: the patches of a group of samples (Ho*Wo rows
// per sample of k*k*Cin values, ordered ky, kx, c) times W^T give their channels-last
// outputs in one GEMM, so every product is a large matrix product.
type convOp struct {
	in, outS    Shape
	k, s, pad   int
	bias        bool
	off         int
	group       int       // samples per im2col matrix
	cols, rcols []float64 // patches of a group (and of its tangents)
	dcols       []float64 // gradients with respect to patches
}

// convGroupValues bounds the values of one im2col matrix (16 MiB).
const convGroupValues = 1 << 21

func (c *convOp) out() Shape        { return c.outS }
func (c *convOp) kk() int           { return c.k * c.k * c.in.C }
func (c *convOp) hw() int           { return c.outS.H * c.outS.W }
func (c *convOp) offset() int       { return c.off }
func (c *convOp) setOffset(off int) { c.off = off }
func (c *convOp) nparams() int {
	n := c.outS.C * c.kk()
	if c.bias {
		n += c.outS.C
	}
	return n
}

func (c *convOp) newScratch(maxB int) layerOp {
	cc := *c
	cc.group = max(1, min(maxB, convGroupValues/(c.hw()*c.kk())))
	n := cc.group * c.hw() * c.kk()
	cc.cols, cc.rcols, cc.dcols = make([]float64, n), make([]float64, n), make([]float64, n)
	return &cc
}

func (c *convOp) w(theta []float64) linalg.Matrix {
	return linalg.M(c.outS.C, c.kk(), theta[c.off:c.off+c.outS.C*c.kk()])
}

func (c *convOp) b(theta []float64) []float64 {
	if !c.bias {
		return nil
	}
	o := c.off + c.outS.C*c.kk()
	return theta[o : o+c.outS.C]
}

// groups calls fn for consecutive groups of samples [i0, i0+g) of a batch of b.
func (c *convOp) groups(b int, fn func(i0, g int)) {
	for i0 := 0; i0 < b; i0 += c.group {
		fn(i0, min(c.group, b-i0))
	}
}

// im2col writes the patches of samples [i0, i0+g) of the batch x into cols.
func (c *convOp) im2col(x []float64, i0, g int, cols []float64) {
	H, W, C := c.in.H, c.in.W, c.in.C
	kk, hw := c.kk(), c.hw()
	for i := 0; i < g; i++ {
		xi := x[(i0+i)*c.in.Size() : (i0+i+1)*c.in.Size()]
		for oy := 0; oy < c.outS.H; oy++ {
			for ox := 0; ox < c.outS.W; ox++ {
				r := i*hw + oy*c.outS.W + ox
				row := cols[r*kk : (r+1)*kk]
				for ky := 0; ky < c.k; ky++ {
					iy := oy*c.s + ky - c.pad
					seg := row[ky*c.k*C : (ky+1)*c.k*C]
					if iy < 0 || iy >= H {
						clear(seg)
						continue
					}
					ix0 := ox*c.s - c.pad
					if ix0 >= 0 && ix0+c.k <= W {
						src := xi[(iy*W+ix0)*C : (iy*W+ix0+c.k)*C]
						if len(src) < 64 {
							for j, v := range src { // short: a loop beats memmove's call
								seg[j] = v
							}
						} else {
							copy(seg, src)
						}
						continue
					}
					for kx := 0; kx < c.k; kx++ {
						ix := ix0 + kx
						dst := seg[kx*C : (kx+1)*C]
						if ix < 0 || ix >= W {
							clear(dst)
						} else {
							copy(dst, xi[(iy*W+ix)*C:(iy*W+ix+1)*C])
						}
					}
				}
			}
		}
	}
}

// col2im adds the patch gradients cols of samples [i0, i0+g) onto the batch gradient dx.
func (c *convOp) col2im(cols []float64, i0, g int, dx []float64) {
	H, W, C := c.in.H, c.in.W, c.in.C
	kk, hw := c.kk(), c.hw()
	for i := 0; i < g; i++ {
		dxi := dx[(i0+i)*c.in.Size() : (i0+i+1)*c.in.Size()]
		for oy := 0; oy < c.outS.H; oy++ {
			for ox := 0; ox < c.outS.W; ox++ {
				r := i*hw + oy*c.outS.W + ox
				row := cols[r*kk : (r+1)*kk]
				for ky := 0; ky < c.k; ky++ {
					iy := oy*c.s + ky - c.pad
					if iy < 0 || iy >= H {
						continue
					}
					for kx := 0; kx < c.k; kx++ {
						ix := ox*c.s + kx - c.pad
						if ix < 0 || ix >= W {
							continue
						}
						src := row[(ky*c.k+kx)*C : (ky*c.k+kx+1)*C]
						dst := dxi[(iy*W+ix)*C : (iy*W+ix+1)*C]
						for j, v := range src {
							dst[j] += v
						}
					}
				}
			}
		}
	}
}

// rows returns the (g*Ho*Wo) x Cout view of samples [i0, i0+g) of an output-shaped batch.
func (c *convOp) rows(y []float64, i0, g int) linalg.Matrix {
	return linalg.M(g*c.hw(), c.outS.C, y[i0*c.outS.Size():(i0+g)*c.outS.Size()])
}

// patches returns the (g*Ho*Wo) x kk view of a patch buffer.
func (c *convOp) patches(buf []float64, g int) linalg.Matrix { return linalg.M(g*c.hw(), c.kk(), buf) }

// setBias sets every pixel of y to the bias taken from theta (or zero).
func (c *convOp) setBias(theta, y []float64) {
	bs := c.b(theta)
	if bs == nil {
		clear(y)
		return
	}
	for p := 0; p < len(y); p += c.outS.C {
		copy(y[p:p+c.outS.C], bs)
	}
}

func (c *convOp) forward(theta, x, y []float64, b int) {
	c.groups(b, func(i0, g int) {
		c.im2col(x, i0, g, c.cols)
		out := c.rows(y, i0, g)
		c.setBias(theta, out.Data)
		linalg.Gemm(false, true, 1, c.patches(c.cols, g), c.w(theta), 1, out)
	})
}

func (c *convOp) tangent(theta, v, x, y, rx, ry []float64, b int) {
	c.groups(b, func(i0, g int) {
		out := c.rows(ry, i0, g)
		c.setBias(v, out.Data)
		c.im2col(x, i0, g, c.cols)
		linalg.Gemm(false, true, 1, c.patches(c.cols, g), c.w(v), 1, out)
		if rx != nil {
			c.im2col(rx, i0, g, c.rcols)
			linalg.Gemm(false, true, 1, c.patches(c.rcols, g), c.w(theta), 1, out)
		}
	})
}

func (c *convOp) backward(theta, x, y, dy, dx []float64, b int) {
	if dx == nil {
		return
	}
	clear(dx[:b*c.in.Size()])
	c.groups(b, func(i0, g int) {
		linalg.Gemm(false, false, 1, c.rows(dy, i0, g), c.w(theta), 0, c.patches(c.dcols, g))
		c.col2im(c.dcols, i0, g, dx)
	})
}

// addBiasGrad adds the pixel sums of the output gradient rows dy to gb.
func (c *convOp) addBiasGrad(dy, gb []float64) {
	for p := 0; p < len(dy); p += c.outS.C {
		for j, v := range dy[p : p+c.outS.C] {
			gb[j] += v
		}
	}
}

// grad adds dy^T patches(x) to the weight gradient and the pixel sums of dy to the bias's.
func (c *convOp) grad(x, dy, g []float64, b int) {
	c.groups(b, func(i0, n int) {
		c.im2col(x, i0, n, c.cols)
		d := c.rows(dy, i0, n)
		linalg.Gemm(true, false, 1, d, c.patches(c.cols, n), 1, c.w(g))
		if gb := c.b(g); gb != nil {
			c.addBiasGrad(d.Data, gb)
		}
	})
}

// perSample writes dy_i^T patches(x_i) and the pixel sums of dy_i into row i.
func (c *convOp) perSample(x, dy, rows []float64, stride, b int) {
	hw, kk := c.hw(), c.kk()
	c.groups(b, func(i0, n int) {
		c.im2col(x, i0, n, c.cols)
		for i := 0; i < n; i++ {
			row := rows[(i0+i)*stride:]
			d := c.rows(dy, i0+i, 1)
			linalg.Gemm(true, false, 1, d, linalg.M(hw, kk, c.cols[i*hw*kk:]), 0, c.w(row))
			if gb := c.b(row); gb != nil {
				clear(gb)
				c.addBiasGrad(d.Data, gb)
			}
		}
	})
}

func (c *convOp) rbackward(theta, v, x, y, rx, dy, rdy, rdx, hv []float64, b int) {
	// R{grad W} = rdy^T patches(x) + dy^T patches(rx); R{grad b} = pixel sums of rdy;
	// rdx = col2im(rdy W + dy V).
	c.grad(x, rdy, hv, b)
	if rdx != nil {
		clear(rdx[:b*c.in.Size()])
	}
	c.groups(b, func(i0, g int) {
		if rx != nil {
			c.im2col(rx, i0, g, c.rcols)
			linalg.Gemm(true, false, 1, c.rows(dy, i0, g), c.patches(c.rcols, g), 1, c.w(hv))
		}
		if rdx != nil {
			d := c.patches(c.dcols, g)
			linalg.Gemm(false, false, 1, c.rows(rdy, i0, g), c.w(theta), 0, d)
			linalg.Gemm(false, false, 1, c.rows(dy, i0, g), c.w(v), 1, d)
			c.col2im(c.dcols, i0, g, rdx)
		}
	})
}

// poolOp is max or average pooling over k x k windows with stride s (no padding). Max
// pooling records the input index of every output's maximum in forward; its derivative
// routes through that index (the first maximum on ties).
type poolOp struct {
	noParams
	in, outS Shape
	k, s     int
	max      bool
	arg      []int32 // b x out: per output, the input offset (within the sample) of its maximum
}

func (p *poolOp) out() Shape { return p.outS }

func (p *poolOp) newScratch(maxB int) layerOp {
	pp := *p
	if p.max {
		pp.arg = make([]int32, maxB*p.outS.Size())
	}
	return &pp
}

func (p *poolOp) forward(theta, x, y []float64, b int) {
	W, C := p.in.W, p.in.C
	inv := 1 / float64(p.k*p.k)
	for i := 0; i < b; i++ {
		xi, yi := x[i*p.in.Size():(i+1)*p.in.Size()], y[i*p.outS.Size():(i+1)*p.outS.Size()]
		for oy := 0; oy < p.outS.H; oy++ {
			for ox := 0; ox < p.outS.W; ox++ {
				for c := 0; c < C; c++ {
					o := (oy*p.outS.W+ox)*C + c
					best, bi, sum := math.Inf(-1), 0, 0.0
					for ky := 0; ky < p.k; ky++ {
						for kx := 0; kx < p.k; kx++ {
							j := ((oy*p.s+ky)*W+ox*p.s+kx)*C + c
							v := xi[j]
							sum += v
							if v > best {
								best, bi = v, j
							}
						}
					}
					if p.max {
						yi[o] = best
						p.arg[i*p.outS.Size()+o] = int32(bi)
					} else {
						yi[o] = sum * inv
					}
				}
			}
		}
	}
}

// spread adds the adjoint of pooling applied to dy into dx (cleared first).
func (p *poolOp) spread(dy, dx []float64, b int) {
	clear(dx[:b*p.in.Size()])
	W, C := p.in.W, p.in.C
	inv := 1 / float64(p.k*p.k)
	for i := 0; i < b; i++ {
		dyi, dxi := dy[i*p.outS.Size():(i+1)*p.outS.Size()], dx[i*p.in.Size():(i+1)*p.in.Size()]
		if p.max {
			for o, v := range dyi {
				dxi[p.arg[i*p.outS.Size()+o]] += v
			}
			continue
		}
		for oy := 0; oy < p.outS.H; oy++ {
			for ox := 0; ox < p.outS.W; ox++ {
				for c := 0; c < C; c++ {
					v := dyi[(oy*p.outS.W+ox)*C+c] * inv
					for ky := 0; ky < p.k; ky++ {
						for kx := 0; kx < p.k; kx++ {
							dxi[((oy*p.s+ky)*W+ox*p.s+kx)*C+c] += v
						}
					}
				}
			}
		}
	}
}

func (p *poolOp) tangent(theta, v, x, y, rx, ry []float64, b int) {
	if rx == nil {
		clear(ry[:b*p.outS.Size()])
		return
	}
	if !p.max {
		p.forward(nil, rx, ry, b) // linear
		return
	}
	for i := 0; i < b; i++ {
		for o := 0; o < p.outS.Size(); o++ {
			ry[i*p.outS.Size()+o] = rx[i*p.in.Size()+int(p.arg[i*p.outS.Size()+o])]
		}
	}
}

func (p *poolOp) backward(theta, x, y, dy, dx []float64, b int) {
	if dx != nil {
		p.spread(dy, dx, b)
	}
}

func (p *poolOp) rbackward(theta, v, x, y, rx, dy, rdy, rdx, hv []float64, b int) {
	if rdx != nil {
		p.spread(rdy, rdx, b) // piecewise linear: no second-order term
	}
}

// denseOp is a fully connected layer on the flattened input: y = x W^T + b.
type denseOp struct {
	inN, outN int
	bias      bool
	off       int
}

func (d *denseOp) out() Shape             { return Shape{1, 1, d.outN} }
func (d *denseOp) offset() int            { return d.off }
func (d *denseOp) setOffset(off int)      { d.off = off }
func (d *denseOp) newScratch(int) layerOp { dd := *d; return &dd }
func (d *denseOp) nparams() int {
	if d.bias {
		return d.outN*d.inN + d.outN
	}
	return d.outN * d.inN
}

func (d *denseOp) w(theta []float64) linalg.Matrix {
	return linalg.M(d.outN, d.inN, theta[d.off:d.off+d.outN*d.inN])
}

func (d *denseOp) b(theta []float64) []float64 {
	if !d.bias {
		return nil
	}
	o := d.off + d.outN*d.inN
	return theta[o : o+d.outN]
}

// affine writes y = x W^T + bias with the weights and bias taken from w (theta or v).
func (d *denseOp) affine(w, x, y []float64, b int, beta float64) {
	out := linalg.M(b, d.outN, y)
	if beta == 0 {
		if bs := d.b(w); bs != nil {
			for i := 0; i < b; i++ {
				copy(out.Data[i*d.outN:(i+1)*d.outN], bs)
			}
		} else {
			clear(out.Data)
		}
	}
	linalg.Gemm(false, true, 1, linalg.M(b, d.inN, x), d.w(w), 1, out)
}

func (d *denseOp) forward(theta, x, y []float64, b int) { d.affine(theta, x, y, b, 0) }

func (d *denseOp) tangent(theta, v, x, y, rx, ry []float64, b int) {
	d.affine(v, x, ry, b, 0)
	if rx != nil {
		linalg.Gemm(false, true, 1, linalg.M(b, d.inN, rx), d.w(theta), 1, linalg.M(b, d.outN, ry))
	}
}

func (d *denseOp) backward(theta, x, y, dy, dx []float64, b int) {
	if dx != nil {
		linalg.Gemm(false, false, 1, linalg.M(b, d.outN, dy), d.w(theta), 0, linalg.M(b, d.inN, dx))
	}
}

func (d *denseOp) grad(x, dy, g []float64, b int) {
	linalg.Gemm(true, false, 1, linalg.M(b, d.outN, dy), linalg.M(b, d.inN, x), 1, d.w(g))
	if gb := d.b(g); gb != nil {
		for i := 0; i < b; i++ {
			for j, v := range dy[i*d.outN : (i+1)*d.outN] {
				gb[j] += v
			}
		}
	}
}

func (d *denseOp) perSample(x, dy, rows []float64, stride, b int) {
	for i := 0; i < b; i++ {
		row := rows[i*stride:]
		dyi, xi := dy[i*d.outN:(i+1)*d.outN], x[i*d.inN:(i+1)*d.inN]
		w := row[d.off : d.off+d.outN*d.inN]
		for r, dv := range dyi {
			wr := w[r*d.inN : (r+1)*d.inN]
			for c, xv := range xi {
				wr[c] = dv * xv
			}
		}
		if gb := d.b(row); gb != nil {
			copy(gb, dyi)
		}
	}
}

func (d *denseOp) rbackward(theta, v, x, y, rx, dy, rdy, rdx, hv []float64, b int) {
	d.grad(x, rdy, hv, b)
	if rx != nil {
		linalg.Gemm(true, false, 1, linalg.M(b, d.outN, dy), linalg.M(b, d.inN, rx), 1, d.w(hv))
	}
	if rdx != nil {
		out := linalg.M(b, d.inN, rdx)
		linalg.Gemm(false, false, 1, linalg.M(b, d.outN, rdy), d.w(theta), 0, out)
		linalg.Gemm(false, false, 1, linalg.M(b, d.outN, dy), d.w(v), 1, out)
	}
}

// actOp applies the activation elementwise (x is the pre-activation z, y = sigma(z)).
type actOp struct {
	noParams
	shape Shape
	act   Activation
}

func (a *actOp) out() Shape             { return a.shape }
func (a *actOp) newScratch(int) layerOp { aa := *a; return &aa }

func (a *actOp) forward(theta, x, y []float64, b int) {
	n := b * a.shape.Size()
	switch a.act {
	case ReLU:
		for i, v := range x[:n] {
			y[i] = max(v, 0)
		}
	case Tanh:
		for i, v := range x[:n] {
			y[i] = math.Tanh(v)
		}
	default:
		copy(y[:n], x[:n])
	}
}

// deriv writes sigma'(z) * in into out.
func (a *actOp) deriv(x, y, in, out []float64, n int) {
	switch a.act {
	case ReLU:
		for i := 0; i < n; i++ {
			if x[i] > 0 {
				out[i] = in[i]
			} else {
				out[i] = 0
			}
		}
	case Tanh:
		for i := 0; i < n; i++ {
			out[i] = in[i] * (1 - y[i]*y[i])
		}
	default:
		copy(out[:n], in[:n])
	}
}

func (a *actOp) tangent(theta, v, x, y, rx, ry []float64, b int) {
	n := b * a.shape.Size()
	if rx == nil {
		clear(ry[:n])
		return
	}
	a.deriv(x, y, rx, ry, n)
}

func (a *actOp) backward(theta, x, y, dy, dx []float64, b int) {
	if dx != nil {
		a.deriv(x, y, dy, dx, b*a.shape.Size())
	}
}

func (a *actOp) rbackward(theta, v, x, y, rx, dy, rdy, rdx, hv []float64, b int) {
	if rdx == nil {
		return
	}
	n := b * a.shape.Size()
	a.deriv(x, y, rdy, rdx, n)
	if a.act == Tanh && rx != nil {
		// + sigma''(z) rz dy, sigma'' = -2 tanh (1 - tanh^2).
		for i := 0; i < n; i++ {
			rdx[i] += dy[i] * (-2 * y[i] * (1 - y[i]*y[i])) * rx[i]
		}
	}
}
