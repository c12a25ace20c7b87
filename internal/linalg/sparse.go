package linalg

import "math"

// CSR is a sparse matrix in compressed-row form, built from dense rows; inputs such as
// MNIST images are about 80% zeros, and skipping them is exact.
type CSR struct {
	Rows, Cols int
	Ptr        []int // row i's entries are Idx[Ptr[i]:Ptr[i+1]]
	Idx        []int32
	Val        []float64
	// The same matrix compressed by columns, built by AddTMul on first use after Fill.
	hasCSC bool
	cPtr   []int
	cIdx   []int32
	cVal   []float64
	cNext  []int
}

// Density returns the fraction of nonzero entries of the dense rows x cols matrix a.
func Density(rows, cols int, a []float64) float64 {
	nz := 0
	for _, v := range a[:rows*cols] {
		if v != 0 {
			nz++
		}
	}
	return float64(nz) / float64(max(rows*cols, 1))
}

// Fill rebuilds s from the dense rows x cols matrix a, reusing its storage.
func (s *CSR) Fill(rows, cols int, a []float64) {
	s.Rows, s.Cols, s.hasCSC = rows, cols, false
	s.Ptr = append(s.Ptr[:0], 0)
	s.Idx, s.Val = s.Idx[:0], s.Val[:0]
	for i := 0; i < rows; i++ {
		for j, v := range a[i*cols : (i+1)*cols] {
			if v != 0 {
				s.Idx = append(s.Idx, int32(j))
				s.Val = append(s.Val, v)
			}
		}
		s.Ptr = append(s.Ptr, len(s.Idx))
	}
}

// GatherAxpy computes out[c] += sum_p val[p] * w[idx[p]*stride + c] for c < len(out),
// adding the terms in the order of p: the same arithmetic as one Axpy per term, with the
// partial sums of 32 columns at a time held in registers (AVX2) instead of reloaded and
// stored for every term. Every idx[p] must lie in [0, maxIdx]; it panics when
// maxIdx*stride + len(out) > len(w), so that the kernel never reads outside w.
func GatherAxpy(out, w []float64, stride int, idx []int32, val []float64, maxIdx int) {
	n := len(out)
	if len(idx) == 0 || n == 0 {
		return
	}
	if len(val) < len(idx) || maxIdx < 0 || maxIdx*stride+n > len(w) || stride < 0 {
		panic("linalg: GatherAxpy rows out of range")
	}
	c := 0
	if useAVX {
		for ; c+32 <= n; c += 32 {
			gatherAxpy32AVX(&out[c], &w[c], stride, &idx[0], &val[0], len(idx))
		}
		for ; c+4 <= n; c += 4 {
			gatherAxpy4AVX(&out[c], &w[c], stride, &idx[0], &val[0], len(idx))
		}
		for ; c < n; c++ {
			acc := out[c]
			for p, j := range idx {
				acc = math.FMA(val[p], w[int(j)*stride+c], acc)
			}
			out[c] = acc
		}
		return
	}
	for p, j := range idx {
		r := int(j) * stride
		Axpy(val[p], w[r:r+n], out)
	}
}

// MulT computes C += S W^T for S (rows x in, sparse) and W (out x in) given as its
// transpose wT (in x out, row-major): C[i,:] += sum_j S[i,j] wT[j,:].
func (s *CSR) MulT(wT []float64, out int, c Matrix) {
	for i := 0; i < s.Rows; i++ {
		p0, p1 := s.Ptr[i], s.Ptr[i+1]
		GatherAxpy(c.Data[i*c.Stride:i*c.Stride+out], wT, out, s.Idx[p0:p1], s.Val[p0:p1], s.Cols-1)
	}
}

// AddTMul computes gT += S^T D for S (rows x in, sparse) and D (rows x out): gT is in x out,
// row-major (the transpose of a weight gradient D^T S). It goes column by column of S (a
// compressed-column copy built on first use after Fill), so that each row of gT is
// accumulated in registers; the terms of each entry are added in the order of the rows.
func (s *CSR) AddTMul(d Matrix, gT []float64, out int) {
	s.buildCSC()
	for j := 0; j < s.Cols; j++ {
		q0, q1 := s.cPtr[j], s.cPtr[j+1]
		GatherAxpy(gT[j*out:(j+1)*out], d.Data, d.Stride, s.cIdx[q0:q1], s.cVal[q0:q1], s.Rows-1)
	}
}

// buildCSC fills the compressed-column copy (rows ascending within each column).
func (s *CSR) buildCSC() {
	if s.hasCSC {
		return
	}
	nnz := len(s.Idx)
	s.cPtr = zeroed(s.cPtr, s.Cols+1)
	for _, j := range s.Idx {
		s.cPtr[j+1]++
	}
	for j := 0; j < s.Cols; j++ {
		s.cPtr[j+1] += s.cPtr[j]
	}
	s.cIdx = zeroed(s.cIdx, nnz)
	s.cVal = zeroed(s.cVal, nnz)
	next := append(s.cNext[:0], s.cPtr[:s.Cols]...)
	for i := 0; i < s.Rows; i++ {
		for p := s.Ptr[i]; p < s.Ptr[i+1]; p++ {
			j := s.Idx[p]
			q := next[j]
			s.cIdx[q], s.cVal[q] = int32(i), s.Val[p]
			next[j]++
		}
	}
	s.cNext = next
	s.hasCSC = true
}

// zeroed returns b resized to n zero values, reusing its storage when it is large enough.
func zeroed[T int | int32 | float64](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}
