//go:build !openblas

package model

// BLAS names the BLAS implementation in use.
const BLAS = "gonum (pure Go)"

// SetBLASThreads is a no-op in the pure-Go build: its products run on the calling goroutine
// except for those large enough to split by rows over the cores.
func SetBLASThreads(n int) {}

// SingleThreadedBLAS is a no-op in the pure-Go build; it returns its release function.
func SingleThreadedBLAS() (release func()) { return func() {} }
