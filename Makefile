# Set-up, tests and the main jobs. `make test` and `make eval` set the venv up themselves when
# .venv is missing or older than pyproject.toml.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SCENARIO ?= fog_town05
OUT     ?= results/render
ROUTE   ?= 0
STEP    ?= 200
JOBS    ?= 2
AGENT   ?= rgb_policy
VARIANT ?= rgb
ROUTES  ?= 0-4
WORKERS ?= 2

.PHONY: setup system-deps test test-all render bench-sim routes policy-data train-policy drive clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_system.sh
	@bash scripts/setup_system.sh
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e ".[dev]"
	$(VPY) -c "import harness.render.renderer as r; ctx = r.create_context(); print('OpenGL over EGL:', ctx.info['GL_RENDERER'])"
	@touch $(STAMP)

system-deps:
	@bash scripts/setup_system.sh

test: $(STAMP)
	$(VPY) -m pytest -q -n $(JOBS) -m "not slow and not gpu and not carla"

test-all: $(STAMP)
	$(VPY) -m pytest -q -n $(JOBS) -m "not gpu and not carla"

render: $(STAMP)
	$(VPY) -m harness render --scenario $(SCENARIO) --route $(ROUTE) --step $(STEP) --out $(OUT)

bench-sim: $(STAMP)
	$(VPY) -m harness bench-sim --scenario $(SCENARIO) --json

routes: $(STAMP)
	for t in town01 town02 town05; do $(VPY) -m harness routes --town $$t --out scenarios/routes/$$t.xml; done

# the frozen RGB policy: expert frames on clear days (about 5 min), then training (about 10 min on 2 cores)
policy-data: $(STAMP)
	$(VPY) -m distill collect-policy-data --out data/policy --workers $(WORKERS)

train-policy: $(STAMP)
	$(VPY) -m distill train-policy --data data/policy --out agents/rgb_policy/weights

# one agent + fusion variant on one scenario's routes, scored as the leaderboard does
drive: $(STAMP)
	$(VPY) -m harness drive --scenario $(SCENARIO) --agent $(AGENT) --variant $(VARIANT) --routes $(ROUTES) --workers $(WORKERS) --json

clean:
	rm -rf $(VENV) .pytest_cache
