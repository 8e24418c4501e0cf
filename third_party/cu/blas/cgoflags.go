package cublas

// #cgo CFLAGS: -I/usr/local/cuda-9.0/targets/x86_64-linux/include -I/usr/local/cuda/include
// #cgo CFLAGS: -I/usr/local/cuda/include/cccl
// #cgo LDFLAGS: -lcublas
// #cgo LDFLAGS: -L/usr/local/cuda-9.0/targets/x86_64-linux/lib -L/usr/local/cuda/lib64 -L/usr/lib/x86_64-linux-gnu
//
// /* include/cccl: CUDA 13 moved CCCL, which provides the <nv/target> that
//    cuda_fp16.h (and so cublas_api.h) includes, there; nvcc adds it to the
//    include path, host compilers such as cgo's do not. */
import "C"
