# Two entry points do all the set-up (README): `make repro` runs the pipeline, `make test` the tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# nothing in the pipeline may reach a model hub: fail fast instead of hanging
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: setup repro test bench browser ocr
setup: $(VENV)/.installed

# torch first and pinned: an unpinned torch pulls several GB of CUDA packages
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $@

repro: setup ocr
	dvc repro

# the report test screenshots the HTML in headless Chromium and the annotator app's test drives it
# through chromedriver; install both where we may (root + apt)
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } || \
	  echo "chromium or chromium-driver not installed: the browser tests will be skipped"

# scanned PDFs are read by Tesseract with its Swedish model (issue 16); install them where we may
ocr:
	@tesseract --list-langs 2>/dev/null | grep -qx swe || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-swe >/dev/null; } || \
	  echo "tesseract-ocr and tesseract-ocr-swe not installed: scanned PDF pages cannot be read, the OCR tests will be skipped"

test: setup browser ocr
	pytest -q

# benchmarks write bench/results/*.json. The transformer's (inference, training, int8) need a
# fine-tuned transformer even when params.yaml deploys another model; score-deployed measures
# `remiss score` with the deployed one (models/stance of `make repro`)
TRANSFORMER_MODEL := models/stance-transformer
bench: repro
	remiss train --model transformer --paragraphs data/paragraphs.jsonl --referral corpus/proposals/sou-2024-72.yaml \
	  --statements labels/gold/statements.yaml --corrections labels/corrections --out $(TRANSFORMER_MODEL)
	python bench/run.py --model $(TRANSFORMER_MODEL)
	python bench/score.py --model $(TRANSFORMER_MODEL)
	python bench/score.py --model models/stance --docs 200 --results bench/results/score-deployed
