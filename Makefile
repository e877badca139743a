# Thin wrapper around CMake. Every target first makes sure the Debian packages are present.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
POLICY ?= policies/default.json
ALERTS ?= $(BUILD_DIR)/alerts.jsonl
CMAKE_ARGS ?=

.PHONY: all deps configure build run test bench sanitize fuzz deb clean vmlinux

all: build

deps:
	@scripts/deps.sh build

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$$(nproc)

run: build
	$(BUILD_DIR)/bin/rempartd --policy $(POLICY) --alerts $(ALERTS)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	cd $(BUILD_DIR) && ctest --output-on-failure $(CTEST_ARGS)

# AddressSanitizer + UBSan build of everything: the unit tests, and the daemon under real traffic.
sanitize:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_ARGS="-DREMPART_SANITIZE=ON"
	cd build-asan && ctest --output-on-failure -R '^unit/|tls_alerts|cli_errors|policy_central|upload_documents|uninspected_tls|capture_late|capture_gap' $(CTEST_ARGS)

# The Debian package (packaging/debian), built for real.
deb:
	@scripts/deps.sh test
	packaging/build-deb.sh

fuzz:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build BUILD_DIR=build-fuzz BUILD_TYPE=Debug CMAKE_ARGS="-DREMPART_FUZZ=ON -DCMAKE_C_COMPILER=clang"
	cd build-fuzz && ctest --output-on-failure -L fuzz $(CTEST_ARGS)

# Speed and memory figures, measured side by side in one run (never part of `make test`).
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	bench/run.sh $(BUILD_DIR)

# Regenerate the vendored vmlinux.h from the running kernel's BTF (x86_64 only here).
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux/$$(uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')/vmlinux.h

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz
