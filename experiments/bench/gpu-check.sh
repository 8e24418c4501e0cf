#!/usr/bin/env bash
# The GPU check as one prepared script, for a lent machine with CUDA and
# PyTorch but no Go toolchain and no network (see the developers' guide).
# Prepare it here, where Go and the modules are:
#
#   mkdir -p .gpu && tar --exclude=testdata --exclude='*_test.go' -cJf .gpu/go.tar.xz -C "$(go env GOROOT)" \
#     bin/go pkg/tool/linux_amd64/compile pkg/tool/linux_amd64/link pkg/tool/linux_amd64/asm \
#     pkg/tool/linux_amd64/cgo src go.env VERSION pkg/include
#   go mod vendor
#
# then run it there with .gpu and vendor carried:
#
#   bash experiments/bench/gpu-check.sh      # writes $OUT/gpu-check.md (or ./gpu-check.md)
#
# It builds with -tags gpu, runs the tests that need a GPU (every CUDA
# kernel against gpu.Host; the step program against models' graph on the
# device), trains quickstart's five models on the GPU at a toy size and
# runs the bench's GPU check (kernels, GELU and the LayerNorm epsilon
# among them; first-step loss; 200-step curves against the CPU; TF32 and
# bf16 products against float32, each timed beside PyTorch with TF32
# allowed or torch.autocast(bfloat16); timings beside PyTorch), and quickstart
# again with train.precision=bf16. Everything it prints goes to the report
# file too.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-.}/gpu-check.md
exec > >(tee "$out") 2>&1

if ! command -v go >/dev/null; then
  goroot=$(mktemp -d)
  tar -xJf .gpu/go.tar.xz -C "$goroot" || { echo "gpu-check: no Go and no .gpu/go.tar.xz"; exit 1; }
  export GOROOT=$goroot PATH=$goroot/bin:$PATH
fi
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local GOCACHE=${GOCACHE:-$(mktemp -d)}
export CGO_CFLAGS="-I/usr/local/cuda/include -I/usr/local/cuda/include/cccl"
export CGO_LDFLAGS="-L/usr/local/cuda/lib64" LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

echo "# GPU check, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
go version
status=0
step() {
  echo
  echo "## $*"
  echo
  "$@" || { echo "(failed: exit $?)"; status=1; }
}
step go build -tags gpu ./...
step go test -tags gpu -count=1 -v -run 'TestKernelsMatchHost|TestKernelsCompile|TestOpenReportsNoGPU' ./gpu/...
step go test -tags gpu -count=1 -run 'TestGPUPath|TestCommandWithoutCUDA' ./framework
db=$(mktemp -d)/results.db
step go run -tags gpu ./experiments/quickstart -device cuda -db "$db" -report "$(dirname "$db")/report" \
  -data synthetic-small -set train.epochs=2 -set train.decay_epoch=1
step go run -tags gpu ./experiments/quickstart -device cuda -db "$db" -report "$(dirname "$db")/report" \
  -data synthetic-small -set train.epochs=2 -set train.decay_epoch=1 -set train.precision=bf16
step go run -tags gpu ./framework/cmd/results -db "$db" runs
step go run -tags gpu ./experiments/bench -device cuda -python python3
exit $status
