//go:build !gpu

package gpu

// openCUDA fails: this build has no CUDA backend.
func openCUDA(int) (Backend, Info, error) { return nil, Info{}, ErrNoCUDA }

// CUDABuild reports whether this binary was built with the gpu tag.
const CUDABuild = false
