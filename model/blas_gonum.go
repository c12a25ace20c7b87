//go:build !openblas

package model

// BLAS names the BLAS implementation in use.
const BLAS = "gonum (pure Go)"

// SetBLASThreads is a no-op in the pure-Go build: its kernels are single-threaded inside
// each worker except for products large enough to split by rows.
func SetBLASThreads(n int) {}
