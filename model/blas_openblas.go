//go:build openblas

package model

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"

	"github.com/sgdlab/sgdlab/internal/linalg"
)

// With -tags openblas every BLAS call in sgdlab goes to OpenBLAS through cgo (Debian
// libopenblas-dev; build with CGO_LDFLAGS=-lopenblas).
func init() {
	blas64.Use(netlib.Implementation{})
	linalg.UseBLAS = true
	linalg.BLASThreshold = 1 << 15
	sparseMinRows = 200
}

// BLAS names the BLAS implementation in use.
const BLAS = "OpenBLAS (cgo, -tags openblas)"

// SetBLASThreads sets OpenBLAS's thread count (ensembles run one worker per core with a
// single-threaded BLAS inside each).
func SetBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }
