//go:build !amd64 || purego

package linalg

const useAVX = false

func axpyAVX(a float64, x, y []float64) { panic("unreachable") }
func dotAVX(x, y []float64) float64     { panic("unreachable") }

func gatherAxpy32AVX(out, w *float64, stride int, idx *int32, val *float64, n int) {
	panic("unreachable")
}
func gatherAxpy4AVX(out, w *float64, stride int, idx *int32, val *float64, n int) {
	panic("unreachable")
}
