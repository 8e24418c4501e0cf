// Package openblas is the cgo binding to OpenBLAS's own controls (core
// type, configuration, threads) for the -tags openblas build of package
// models; the matrix products themselves go through gonum.org/v1/netlib.
// It is a package of its own because a cgo package cannot hold the Go
// assembly of models' pure-Go sgemm.
package openblas
