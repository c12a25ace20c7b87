//go:build !openblas

package main

// blasName names the BLAS implementation this binary uses.
const blasName = "gonum (pure Go)"
