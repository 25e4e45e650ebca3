# Set-up happens on demand: `make run` and `make test` create .venv and install pinned
# dependencies the first time (and again whenever pyproject.toml changes).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint proto browser

# Python code for the gRPC API is generated from proto/ into ringplan/v1/ (never edited by hand,
# never committed) whenever a .proto file or the installed tools change.
PROTOS := $(wildcard proto/ringplan/v1/*.proto)
GEN := ringplan/v1/__init__.py

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip check
	touch $(STAMP)

$(GEN): $(STAMP) $(PROTOS)
	rm -rf ringplan/v1
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m grpc_tools.protoc -I proto \
		--python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. $(PROTOS)
	touch $(GEN)

proto: $(GEN)

run: $(GEN)
	$(BIN)/ringplan demo

lint: $(GEN)
	$(BIN)/buf lint
	@# Breaking-change check against main, once main has the v1 API.
	@if git rev-parse -q --verify main >/dev/null && git cat-file -e main:proto/ringplan/v1 2>/dev/null; then \
		echo "$(BIN)/buf breaking --against '.git#branch=main'"; \
		$(BIN)/buf breaking --against '.git#branch=main'; fi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The report's browser tests drive the system's headless Chromium (Debian's chromium and
# chromium-driver; no browser is ever downloaded). Installed here when missing and we are root;
# elsewhere those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			chromium chromium-driver >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install \
			-y -q --no-install-recommends chromium chromium-driver >/dev/null; } \
		|| echo "chromium could not be installed: the browser tests will skip"; \
	else echo "chromium is missing and cannot be installed here (not root or no apt-get): the browser tests will skip"; fi

test: lint browser
	$(BIN)/pytest -q
