//go:build !amd64 || purego

package kernel

const useAVX = false

func axpyAVX(a float64, x, y []float64) { panic("unreachable") }
func dotAVX(x, y []float64) float64     { panic("unreachable") }
