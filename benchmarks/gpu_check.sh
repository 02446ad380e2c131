#!/usr/bin/env bash
# The one device call of the GPU check, from the repository root. On the GPU machine, one `run` with
# timeout_s 480 that carries .whl .ffmpeg .nvlabs .refdata (made here by `python3 benchmarks/gpu_check.py --prepare`):
#     bash benchmarks/gpu_check.sh
# Here, on the CPU, every step at tiny sizes (with the carried ffmpeg and reference data, Dear PyGui hidden):
#     bash benchmarks/gpu_check.sh --dry-run
set -u
export GPU_CHECK_STARTED=$(date +%s)   # gpu_check.py's budget counts from here
cd "$(dirname "$0")/.."
dry=""; [ "${1:-}" = "--dry-run" ] && dry=1
py=${PYTHON:-python3}   # here: PYTHON=.venv/bin/python (the GPU machine's python3 holds its torch)
if [ -d .whl ] && [ -z "$dry" ]; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -f .ffmpeg/ffmpeg.xz ]; then   # imageio-ffmpeg's binary and Python code (the GPU machine has neither)
  exe=$(mktemp /tmp/gpu-check-ffmpeg.XXXXXX)
  xz -dc .ffmpeg/ffmpeg.xz >"$exe" && chmod +x "$exe" && export IMAGEIO_FFMPEG_EXE=$exe
  export PYTHONPATH=$PWD/.ffmpeg/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -f .refdata/reference/README.md ]; then   # the NVIDIA reference data the cuda tests read; missing = failure
  export EQVIZ_REFERENCE=$PWD/.refdata/reference EQVIZ_REQUIRE_REFERENCE=1
fi
# eqviz itself, unless this Python already has it (the GPU machine starts bare).
if ! "$py" -c "import eqviz" 2>/dev/null; then
  "$py" -m pip install -q --no-deps --no-build-isolation --target /tmp/eqviz-site . \
    && export PYTHONPATH=/tmp/eqviz-site${PYTHONPATH:+:$PYTHONPATH}
fi
"$py" benchmarks/gpu_check.py "$@"
status=$?
[ -n "${exe:-}" ] && rm -f "$exe"
exit $status
