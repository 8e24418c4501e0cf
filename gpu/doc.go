// Package gpu trains and scores the models of package models on an
// execution device other than Gorgonia's graph machine: an NVIDIA GPU
// through the CUDA driver, cuBLAS and NVRTC (build tag gpu; binding in
// gpu/internal/cuda), or the host CPU.
//
// The model's training step is written once, as a program of coarse
// operations (embedding, matrix product, LayerNorm, multi-head attention,
// keep-and-normalise, MaxSim, the losses, AdamW) over a Backend. Two
// backends implement the operations:
//
//   - Host, plain Go loops: the reference. Tests check that the program on
//     Host gives the loss and gradients of models' Gorgonia graph, so the
//     program itself is verified on any machine.
//   - CUDA (build tag gpu): matrix products through cuBLAS and every other
//     operation as a CUDA C kernel (kernels.cu) compiled at run time with
//     NVRTC, so that values stay on the device from the batch upload to the
//     optimiser step. The GPU check (go run -tags gpu ./experiments/bench
//     -device cuda) compares each kernel with its Host twin on random
//     inputs.
//
// Open selects a backend from a device name: "cpu", "cuda" or "cuda:N".
// Without the gpu build tag, or without a GPU, asking for CUDA gives an
// error that says so; nothing crashes.
package gpu
