//go:build openblas

package model

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"runtime"
	"sync"

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

// OpenBLAS's thread count is one setting for the whole process. blasThreads is the value
// chosen with SetBLASThreads; while any parallel region holds a SingleThreadedBLAS scope
// (ensemble workers, the lanes of a full-data pass: they are the parallelism themselves) it
// is 1, and it returns to blasThreads when the last scope is released. Counting the scopes
// keeps concurrent regions from restoring each other's values.
var (
	blasMu      sync.Mutex
	blasThreads = runtime.NumCPU()
	blasScopes  int
)

// SetBLASThreads sets the number of threads OpenBLAS uses outside parallel regions.
func SetBLASThreads(n int) {
	blasMu.Lock()
	defer blasMu.Unlock()
	blasThreads = max(n, 1)
	if blasScopes == 0 {
		C.openblas_set_num_threads(C.int(blasThreads))
	}
}

// SingleThreadedBLAS makes OpenBLAS single-threaded until the returned function is called.
func SingleThreadedBLAS() (release func()) {
	blasMu.Lock()
	if blasScopes == 0 {
		C.openblas_set_num_threads(1)
	}
	blasScopes++
	blasMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			blasMu.Lock()
			defer blasMu.Unlock()
			if blasScopes--; blasScopes == 0 {
				C.openblas_set_num_threads(C.int(blasThreads))
			}
		})
	}
}
