// compat.h: shims over the CUDA driver API entry points whose C signatures
// changed between CUDA 11/12 and CUDA 13, so that the Go bindings compile
// unchanged against the headers of CUDA 11.x, 12.x and 13.x.
//
// CUDA 13.0's cuda.h maps each of these names to a newer ABI version with a
// different argument list (cuCtxCreate -> cuCtxCreate_v4, cuMemAdvise and
// cuMemPrefetchAsync -> their _v2, cuGraphGetEdges and cuGraphAddDependencies
// -> their _v2). The shims keep the old argument lists and pass the neutral
// value for each new argument: no context creation parameters, the device as
// a CUmemLocation, no prefetch flags, and no edge data (default edges).
// See PATCHES.md for the details and sources of each change.
#ifndef GORGONIA_CU_COMPAT_H
#define GORGONIA_CU_COMPAT_H

#include <cuda.h>

// cuCompatCtxCreate is cuCtxCreate as it was before CUDA 13: flags, device.
static inline CUresult cuCompatCtxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev) {
#if CUDA_VERSION >= 13000
	return cuCtxCreate(pctx, NULL, flags, dev);
#else
	return cuCtxCreate(pctx, flags, dev);
#endif
}

#if CUDA_VERSION >= 13000
// cuCompatLocation turns the device argument of the old unified-memory calls
// into the CUmemLocation that CUDA 13 asks for: CU_DEVICE_CPU ((CUdevice)-1)
// meant host memory, any other value a device ordinal.
static inline CUmemLocation cuCompatLocation(CUdevice dev) {
	CUmemLocation loc;
	if (dev == (CUdevice)-1) {
		loc.type = CU_MEM_LOCATION_TYPE_HOST;
		loc.id = 0;
	} else {
		loc.type = CU_MEM_LOCATION_TYPE_DEVICE;
		loc.id = (int)dev;
	}
	return loc;
}
#endif

// cuCompatMemAdvise is cuMemAdvise with a device (or CU_DEVICE_CPU) argument.
static inline CUresult cuCompatMemAdvise(CUdeviceptr devPtr, size_t count, CUmem_advise advice, CUdevice dev) {
#if CUDA_VERSION >= 13000
	return cuMemAdvise(devPtr, count, advice, cuCompatLocation(dev));
#else
	return cuMemAdvise(devPtr, count, advice, dev);
#endif
}

// cuCompatMemPrefetchAsync is cuMemPrefetchAsync with a device (or
// CU_DEVICE_CPU) destination and no flags.
static inline CUresult cuCompatMemPrefetchAsync(CUdeviceptr devPtr, size_t count, CUdevice dstDevice, CUstream hStream) {
#if CUDA_VERSION >= 13000
	return cuMemPrefetchAsync(devPtr, count, cuCompatLocation(dstDevice), 0, hStream);
#else
	return cuMemPrefetchAsync(devPtr, count, dstDevice, hStream);
#endif
}

// cuCompatGraphGetEdges is cuGraphGetEdges without the edge data output.
static inline CUresult cuCompatGraphGetEdges(CUgraph hGraph, CUgraphNode *from, CUgraphNode *to, size_t *numEdges) {
#if CUDA_VERSION >= 13000
	return cuGraphGetEdges(hGraph, from, to, NULL, numEdges);
#else
	return cuGraphGetEdges(hGraph, from, to, numEdges);
#endif
}

// cuCompatGraphAddDependencies is cuGraphAddDependencies with default edges.
static inline CUresult cuCompatGraphAddDependencies(CUgraph hGraph, const CUgraphNode *from, const CUgraphNode *to, size_t numDependencies) {
#if CUDA_VERSION >= 13000
	return cuGraphAddDependencies(hGraph, from, to, NULL, numDependencies);
#else
	return cuGraphAddDependencies(hGraph, from, to, numDependencies);
#endif
}

#endif // GORGONIA_CU_COMPAT_H
