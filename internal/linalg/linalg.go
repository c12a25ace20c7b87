// Package linalg holds the vectorised inner loops of sgdlab's hot paths: AXPY and dot
// products (AVX2 with FMA on amd64 when the CPU has them, plain Go otherwise) and the
// matrix products built from them. Everything here is exact floating-point arithmetic in a
// fixed order, so results do not depend on the machine's core count.
package linalg

// Axpy computes y[i] += a * x[i] for i < len(x); len(y) must be >= len(x).
func Axpy(a float64, x, y []float64) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1]
	if useAVX && len(x) >= 8 {
		axpyAVX(a, x, y[:len(x)])
		return
	}
	for i, v := range x {
		y[i] += a * v
	}
}

// Dot returns sum x[i] * y[i] for i < len(x); len(y) must be >= len(x).
func Dot(x, y []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	_ = y[len(x)-1]
	if useAVX && len(x) >= 8 {
		return dotAVX(x, y[:len(x)])
	}
	s := 0.0
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// Scale computes x[i] *= a.
func Scale(a float64, x []float64) {
	for i := range x {
		x[i] *= a
	}
}

// Available reports whether the vector kernels are in use.
func Available() bool { return useAVX }
