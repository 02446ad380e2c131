#!/usr/bin/env bash
# The one device call of the GPU check, from the repository root. On the GPU machine (a `run` that
# carries .whl, .ffmpeg and .nvlabs, made here by `python3 benchmarks/gpu_check.py --prepare`):
#     bash benchmarks/gpu_check.sh
# Here, on the CPU:  bash benchmarks/gpu_check.sh --dry-run
set -u
cd "$(dirname "$0")/.."
if [ -d .whl ] && [ "${1:-}" != "--dry-run" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -f .ffmpeg/ffmpeg.xz ] && [ "${1:-}" != "--dry-run" ]; then
  xz -dc .ffmpeg/ffmpeg.xz >/tmp/ffmpeg && chmod +x /tmp/ffmpeg && export IMAGEIO_FFMPEG_EXE=/tmp/ffmpeg
fi
# eqviz itself, unless this Python already has it (the GPU machine starts bare).
if ! python3 -c "import eqviz" 2>/dev/null; then
  python3 -m pip install -q --no-deps --no-build-isolation --target /tmp/eqviz-site . \
    && export PYTHONPATH=/tmp/eqviz-site${PYTHONPATH:+:$PYTHONPATH}
fi
exec python3 benchmarks/gpu_check.py "$@"
