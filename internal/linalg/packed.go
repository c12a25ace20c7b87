package linalg

import (
	"os"
	"runtime"
	"sync"

	"github.com/sgdlab/sgdlab/fault"
)

// The packed GEMM (the structure of GotoBLAS and BLIS): C is computed in blocks of NC
// columns; for each block of KC values of the inner dimension, the KC x NC block of op(B) is
// packed into column panels of nr values per k, and each MC x KC block of op(A) into row
// panels of mr values per k, so the register-blocked micro-kernel reads both contiguously
// (A's block stays in L2, one B panel in L1). The micro-kernel computes an mr x nr tile of
// A_panel B_panel into registers; the tile is added to C with alpha. Every element of C
// is accumulated over the KC blocks in the same order whatever the number of goroutines,
// so results do not depend on parallelism.

// microKernel is a register-blocked kernel: ab (mr x nr) = a_panel^T b_panel over kc.
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, ab *float64)
}

// kernels are the micro-kernels of this CPU, best first; kern is the one in use (nil: none).
var (
	kernels = microKernels()
	kern    *microKernel
)

func init() {
	if len(kernels) > 0 {
		kern = &kernels[0]
	}
	// SGDLAB_GEMM_KERNEL names the micro-kernel to use ("rows": none), for comparisons.
	if name, ok := os.LookupEnv("SGDLAB_GEMM_KERNEL"); ok {
		SetKernel(name)
	}
}

// Kernel names the micro-kernel in use ("" without one).
func Kernel() string {
	if kern == nil {
		return ""
	}
	return kern.name
}

// SetKernel selects the micro-kernel by name ("" disables the packed path) and returns the
// previous name; tests and benchmarks compare kernels with it.
func SetKernel(name string) string {
	prev := Kernel()
	kern = nil
	for i := range kernels {
		if kernels[i].name == name {
			kern = &kernels[i]
		}
	}
	return prev
}

// Kernels lists the micro-kernels this CPU runs.
func Kernels() []string {
	var s []string
	for _, k := range kernels {
		s = append(s, k.name)
	}
	return s
}

// kernelFor picks the micro-kernel for an m x n x k product: none when a dimension is too
// small for register blocking to pay (the row kernel is faster there), the narrowest kernel
// whose tile does not waste more than half its columns otherwise.
func kernelFor(m, n, k int) *microKernel {
	if kern == nil || k < 8 || m < 4 || n < 4 {
		return nil
	}
	best := kern
	if n < best.nr {
		for i := range kernels {
			if kernels[i].nr < best.nr && kernels[i].nr >= n/2 {
				best = &kernels[i]
			}
		}
	}
	if m < best.mr/2 {
		return nil
	}
	return best
}

// Block sizes: an A block of MC x KC doubles (384 KiB) stays in L2, a B panel of KC x nr
// (32 KiB at nr = 16) in L1.
const (
	blockMC = 192
	blockKC = 256
	blockNC = 3072
)

// packedMin is the work (multiply-adds) from which the packed path is used.
const packedMin = 1 << 15

// packBufs are reused packing buffers (no allocation in steady state).
var packBufs = sync.Pool{New: func() any { return new([]float64) }}

func getBuf(n int) *[]float64 {
	p := packBufs.Get().(*[]float64)
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	*p = (*p)[:n]
	return p
}

// at returns op(X)[i, j].
func at(x Matrix, trans bool, i, j int) float64 {
	if trans {
		return x.Data[j*x.Stride+i]
	}
	return x.Data[i*x.Stride+j]
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into panels of nr columns: panel q holds, for each
// k, the nr values op(B)[pc+k, jc+q*nr : jc+q*nr+nr] (zero beyond nc).
func packB(b Matrix, trans bool, pc, kc, jc, nc, nr int, dst []float64) {
	for q := 0; q*nr < nc; q++ {
		p := dst[q*kc*nr : (q+1)*kc*nr]
		w := min(nr, nc-q*nr)
		j0 := jc + q*nr
		for k := 0; k < kc; k++ {
			row := p[k*nr : (k+1)*nr]
			if !trans {
				copyShort(row[:w], b.Data[(pc+k)*b.Stride+j0:(pc+k)*b.Stride+j0+w])
			} else {
				for j := 0; j < w; j++ {
					row[j] = b.Data[(j0+j)*b.Stride+pc+k]
				}
			}
			clear(row[w:])
		}
	}
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] into panels of mr rows: panel q holds, for each k,
// the mr values op(A)[ic+q*mr : ic+q*mr+mr, pc+k] (zero beyond mc).
func packA(a Matrix, trans bool, ic, mc, pc, kc, mr int, dst []float64) {
	for q := 0; q*mr < mc; q++ {
		p := dst[q*kc*mr : (q+1)*kc*mr]
		h := min(mr, mc-q*mr)
		i0 := ic + q*mr
		if trans {
			for k := 0; k < kc; k++ {
				row := p[k*mr : (k+1)*mr]
				copyShort(row[:h], a.Data[(pc+k)*a.Stride+i0:(pc+k)*a.Stride+i0+h])
				clear(row[h:])
			}
			continue
		}
		if h == mr && mr%2 == 0 {
			// Two rows at a time: the writes of a pair are adjacent.
			for i := 0; i < mr; i += 2 {
				r0 := a.Data[(i0+i)*a.Stride+pc : (i0+i)*a.Stride+pc+kc]
				r1 := a.Data[(i0+i+1)*a.Stride+pc : (i0+i+1)*a.Stride+pc+kc]
				for k := range r0 {
					p[k*mr+i], p[k*mr+i+1] = r0[k], r1[k]
				}
			}
			continue
		}
		for i := 0; i < h; i++ {
			src := a.Data[(i0+i)*a.Stride+pc : (i0+i)*a.Stride+pc+kc]
			for k, v := range src {
				p[k*mr+i] = v
			}
		}
		for i := h; i < mr; i++ {
			for k := 0; k < kc; k++ {
				p[k*mr+i] = 0
			}
		}
	}
}

// copyShort copies a panel row: a loop for the short rows of panels (a call to memmove costs
// more than moving 16 values), copy otherwise.
func copyShort(dst, src []float64) {
	if len(src) > 32 {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// gemmPacked computes C = alpha op(A) op(B) + beta C with the micro-kernel k.
func gemmPacked(k *microKernel, transA, transB bool, alpha float64, a, b Matrix, beta float64, c Matrix) {
	m, n := c.Rows, c.Cols
	kdim := a.Cols
	if transA {
		kdim = a.Rows
	}
	for i := 0; i < m; i++ {
		scaleBeta(beta, c.Data[i*c.Stride:i*c.Stride+n])
	}
	if kdim == 0 || alpha == 0 {
		return
	}
	mr, nr := k.mr, k.nr
	threads := min(runtime.GOMAXPROCS(0), max(1, m*n*kdim/(1<<20)))
	bp := getBuf(blockKC * (blockNC + nr))
	defer packBufs.Put(bp)
	for jc := 0; jc < n; jc += blockNC {
		nc := min(blockNC, n-jc)
		for pc := 0; pc < kdim; pc += blockKC {
			kc := min(blockKC, kdim-pc)
			packB(b, transB, pc, kc, jc, nc, nr, *bp)
			// Tasks: (row block, column range of panels); split columns when there are fewer
			// row blocks than goroutines.
			type task struct{ ic, q0, q1 int }
			var tasks []task
			panels := (nc + nr - 1) / nr
			rowBlocks := (m + blockMC - 1) / blockMC
			split := 1
			if rowBlocks < threads {
				split = min(panels, (threads+rowBlocks-1)/rowBlocks)
			}
			for ic := 0; ic < m; ic += blockMC {
				for s := 0; s < split; s++ {
					tasks = append(tasks, task{ic, s * panels / split, (s + 1) * panels / split})
				}
			}
			run := func(t task) {
				mc := min(blockMC, m-t.ic)
				ap := getBuf(kc * (blockMC + mr))
				packA(a, transA, t.ic, mc, pc, kc, mr, *ap)
				var ab [16 * 16]float64
				for q := t.q0; q < t.q1; q++ {
					jr := q * nr
					w := min(nr, nc-jr)
					for ir := 0; ir < mc; ir += mr {
						h := min(mr, mc-ir)
						k.fn(kc, &(*ap)[ir*kc], &(*bp)[q*kc*nr], &ab[0])
						for i := 0; i < h; i++ {
							crow := c.Data[(t.ic+ir+i)*c.Stride+jc+jr : (t.ic+ir+i)*c.Stride+jc+jr+w]
							tile := ab[i*nr : i*nr+w]
							for j, v := range tile {
								crow[j] += alpha * v
							}
						}
					}
				}
				packBufs.Put(ap)
			}
			if threads <= 1 || len(tasks) == 1 {
				for _, t := range tasks {
					run(t)
				}
				continue
			}
			var grp fault.Group
			next := make(chan task, len(tasks))
			for _, t := range tasks {
				next <- t
			}
			close(next)
			for range min(threads, len(tasks)) {
				grp.Go(func() {
					for t := range next {
						run(t)
					}
				})
			}
			grp.Wait()
		}
	}
}
