package kernel

// CSR is a sparse matrix in compressed-row form, built from dense rows; inputs such as
// MNIST images are about 80% zeros, and skipping them is exact.
type CSR struct {
	Rows, Cols int
	Ptr        []int // row i's entries are Idx[Ptr[i]:Ptr[i+1]]
	Idx        []int32
	Val        []float64
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
	s.Rows, s.Cols = rows, cols
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

// MulT computes C += S W^T for S (rows x in, sparse) and W (out x in) given as its
// transpose wT (in x out, row-major): C[i,:] += sum_j S[i,j] wT[j,:].
func (s *CSR) MulT(wT []float64, out int, c Matrix) {
	for i := 0; i < s.Rows; i++ {
		row := c.Data[i*c.Stride : i*c.Stride+out]
		for p := s.Ptr[i]; p < s.Ptr[i+1]; p++ {
			j := int(s.Idx[p])
			Axpy(s.Val[p], wT[j*out:(j+1)*out], row)
		}
	}
}

// AddTMul computes gT += S^T D for S (rows x in, sparse) and D (rows x out): gT is in x out,
// row-major (the transpose of a weight gradient D^T S).
func (s *CSR) AddTMul(d Matrix, gT []float64, out int) {
	for i := 0; i < s.Rows; i++ {
		di := d.Data[i*d.Stride : i*d.Stride+out]
		for p := s.Ptr[i]; p < s.Ptr[i+1]; p++ {
			j := int(s.Idx[p])
			Axpy(s.Val[p], di, gT[j*out:(j+1)*out])
		}
	}
}
