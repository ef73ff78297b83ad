# Set-up, tests and the main jobs. `make test` and `make eval` set the venv up themselves when
# .venv is missing or older than pyproject.toml.
#   make eval SCENARIO=fog_town05 [VARIANTS=rgb,thermal ROUTES=0-3 SEEDS=0,1 WORKERS=2 OUT=results/x BACKEND=carla]
#     (defaults: rgb, fusionproxy and oracle_clean on the five routes with the shortest waypoint polylines
#      (shortest:5), the scenario's seeds, 2 workers: 13 min 55 s on 2 cores for fog_town05)
#   make plots OUT=results/x            (rewrite tables, report and plots from the records)
#   make sweep SCENARIO=fog_town05 AXIS=fog [VALUES=200,100,50]
.DEFAULT_GOAL := setup
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SCENARIO ?= fog_town05
OUT     ?=
ROUTE   ?= 0
STEP    ?= 200
JOBS    ?= 2
AGENT   ?= rgb_policy
VARIANT ?= rgb
ROUTES  ?=
# make eval's default routes: the five of the scenario's (held-out) routes with the shortest waypoint
# polylines in its route file (a rule on the file, never on results; fog_town05: 0, 2, 10, 11, 12, 4.5 km)
EVAL_ROUTES := shortest:5
# make sweep's: the two shortest (a sweep multiplies them by every value)
SWEEP_ROUTES := shortest:2
WORKERS ?= 2
# the camera alone, the distilled student and the clean upper bound: on make eval's five routes these
# fit in 15 minutes on 2 cores; the thermal camera alone and classical fusion stand still for much of
# a route, so adding them (VARIANTS=rgb,thermal,gff,fusionproxy,oracle_clean) takes 42 minutes
VARIANTS ?= rgb,fusionproxy,oracle_clean
SEEDS   ?=
EXECUTOR ?= local
# the simulator: embedded (default) or carla (a CARLA 0.9.16 server at CARLA_HOST:CARLA_PORT)
BACKEND ?= embedded
CARLA_HOST ?= 127.0.0.1
CARLA_PORT ?= 2000
BACKEND_ARGS = --backend $(BACKEND) $(if $(filter carla,$(BACKEND)),--carla-host $(CARLA_HOST) --carla-port $(CARLA_PORT))
AXIS    ?= fog
VALUES  ?=
# earlier runs' folders (space-separated) whose route runs with the same job key are copied, not driven,
# e.g. REUSE=results/reference/zoo_night_fog_town05 to drive only your own variant beside the committed rows
REUSE   ?=
REUSE_ARGS = $(foreach f,$(REUSE),--reuse $(f))
# more options for the harness command, e.g. ARGS='--latency measured --max-steps 600'
ARGS    ?=
EVAL_OUT = $(or $(OUT),results/eval/$(SCENARIO))
SWEEP_OUT = $(or $(OUT),results/sweep/$(SCENARIO)_$(AXIS))

help:  ## this list: every target, what it does, its main variables
	@echo 'make TARGET [VAR=value ...]   e.g. make eval SCENARIO=night_fog_town05 VARIANTS=rgb,gff,fusionproxy SEEDS=0,1'
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))

.PHONY: help setup system-deps mesa-backports test test-fast eval plots sweep render bench-sim routes policy-data train-policy fusion-data train-teacher ensemble-cache train-student ablate drive clean

setup: $(STAMP)  ## the .venv with everything (apt installs the EGL libraries when missing)

$(STAMP): pyproject.toml scripts/setup_system.sh
	@bash scripts/setup_system.sh
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e ".[dev]"
	$(VPY) -c "import harness.render.renderer as r; ctx = r.create_context(); print('OpenGL over EGL:', ctx.info['GL_RENDERER'])"
	@touch $(STAMP)

system-deps:  ## only the Debian packages headless EGL rendering needs
	@bash scripts/setup_system.sh

# optional, Debian 12 only: Mesa 25 from bookworm-backports (llvmpipe ~12 % faster, bit-identical images)
mesa-backports:  ## optional, Debian 12: Mesa 25 from backports (llvmpipe about 12 % faster, same images)
	@bash scripts/mesa_backports.sh

# the full suite, as CI runs it (GPU and CARLA tests skip themselves, with the reason, where neither is here)
test: $(STAMP)  ## the full suite, as CI runs it (about 5-9 min on 2 cores)
	$(VPY) -m pytest -q -n $(JOBS) --dist loadfile

# the quick tier, for editing: everything but the tests marked slow (kill -9 resume, Ray, memory, training, ...)
test-fast: $(STAMP)  ## the suite without the tests marked slow, while editing
	$(VPY) -m pytest -q -n $(JOBS) --dist loadfile -m "not slow"

# the main job: every variant on the scenario's routes, scored as the leaderboard does. Rerunning the
# same command continues (or reuses) the run in its folder: finished routes are kept, never rerun.
eval: $(STAMP)  ## the main job: SCENARIO= VARIANTS= ROUTES= SEEDS= WORKERS= OUT= REUSE= BACKEND=
	$(VPY) -m harness eval --scenario $(SCENARIO) --variants $(VARIANTS) --routes $(or $(ROUTES),$(EVAL_ROUTES)) $(if $(SEEDS),--seeds $(SEEDS)) \
		--workers $(WORKERS) --executor $(EXECUTOR) $(BACKEND_ARGS) --out $(EVAL_OUT) --resume $(REUSE_ARGS) $(ARGS)

plots: $(STAMP)  ## rewrite report, tables and plots of OUT= from its records
	$(VPY) -m harness report --out $(EVAL_OUT)

sweep: $(STAMP)  ## a robustness sweep: SCENARIO= AXIS=fog|sun|misalign_px|misalign_deg|latency VALUES= FRAMES=STEP (a sheet of each severity's views)
	$(VPY) -m harness sweep --scenario $(SCENARIO) --axis $(AXIS) $(if $(VALUES),--values $(VALUES)) --variants $(VARIANTS) \
		--routes $(or $(ROUTES),$(SWEEP_ROUTES)) $(if $(SEEDS),--seeds $(SEEDS)) --workers $(WORKERS) --executor $(EXECUTOR) $(BACKEND_ARGS) \
		--out $(SWEEP_OUT) --resume $(REUSE_ARGS) $(if $(FRAMES),--frames $(FRAMES)) $(ARGS)

render: $(STAMP)  ## one step's RGB, thermal and fused images as PNG: SCENARIO= ROUTE= STEP= OUT=
	$(VPY) -m harness render --scenario $(SCENARIO) --route $(ROUTE) --step $(STEP) --out $(or $(OUT),results/render) $(ARGS)

bench-sim: $(STAMP)  ## simulator steps/s and where a step goes (JSON): SCENARIO=
	$(VPY) -m harness bench-sim --scenario $(SCENARIO) --json $(ARGS)

# town05 has 20: routes 5-8 are policy training routes, 9 validation, 15-19 for choosing between trained policies by driving
# (select_clear_noon_town05); 0-4 and 10-14 are held out for evaluation. town05_short: 10 routes of 255-300 m (one auto event
# each at 2 per km), each through a traffic light, on no road of routes 5-9 and rarely on one of 15-19 (the short_ scenarios)
routes: $(STAMP)  ## write the route files of scenarios/routes/ again
	for t in town01 town02; do $(VPY) -m harness routes --town $$t --out scenarios/routes/$$t.xml; done
	$(VPY) -m harness routes --town town05 --count 20 --out scenarios/routes/town05.xml
	$(VPY) -m harness routes --town town05 --count 10 --min-m 255 --max-m 300 --signalised --avoid scenarios/routes/town05.xml:5-9 \
		--shun scenarios/routes/town05.xml:15-19 --out scenarios/routes/town05_short.xml

# the frozen RGB policy, as the committed weights were made: expert frames on clear days, 3 min per episode, the expert
# lingering 2-8 s at the line after each red turns green (about 9 min with 2 workers; 11,604 training frames), then
# training on two threads (about 25 min alone on 2 cores; another thread count sums in another order: other weights)
policy-data: $(STAMP)  ## expert frames for the frozen RGB policy (about 9 min)
	$(VPY) -m distill collect-policy-data --out data/policy --workers $(WORKERS) --max-steps 3600 --linger

train-policy: $(STAMP)  ## train the frozen RGB policy's network (about 25 min)
	$(VPY) -m distill train-policy --data data/policy --out agents/rgb_policy/weights --threads 2 --shadows 0.6

# the diffusion teacher, as the committed weights were made: expert frames at night, dusk and in fog on training routes
# (distill/fusion_data.py), then training in runs/teacher (resumes when stopped); the weights and manifest are then
# copied into fusion/teacher/weights/, which is what the `teacher` variant loads
fusion-data: $(STAMP)  ## expert frames at night, dusk and in fog for the teacher and the student (about 5-7 min)
	$(VPY) -m distill collect-fusion-data --out data/fusion --workers $(WORKERS)

# two stages, as the committed weights were made: 3000 steps, then 5000 more from those with a fresh schedule (about
# 30 + 50 min alone on 2 cores); each stage's manifest is kept beside the weights
train-teacher: $(STAMP)  ## train the diffusion teacher, two stages (about 80 min)
	$(VPY) -m distill train-teacher --data data/fusion --out runs/teacher --threads 2
	$(VPY) -m distill train-teacher --data data/fusion --out runs/teacher2 --threads 2 --init runs/teacher/teacher.pt \
		--steps 5000 --lr 1e-3 --warmup 100
	mkdir -p fusion/teacher/weights && cp runs/teacher2/teacher.pt runs/teacher2/manifest.json fusion/teacher/weights/ \
		&& cp runs/teacher/manifest.json fusion/teacher/weights/manifest_stage1.json

# FusionProxy: the teacher ensemble cache (K=8 samples of 2 DDIM steps per frame; about 55 min alone on 2 cores;
# resumes), then the students xs, s and m as committed (5000 steps each, about 24, 25 and 31 min alone; each resumes
# from runs/student_<size>/ckpt.pt); the weights and manifests are
# copied into fusion/student/weights/, which is what the `fusionproxy` variant loads
ensemble-cache: $(STAMP)  ## the teacher's 8-sample ensemble of every fusion-data frame (about 35-55 min; resumes)
	$(VPY) -m distill cache-ensemble --data data/fusion --out data/ensemble

STUDENT_SIZES ?= xs s m
train-student: $(STAMP)  ## distil the FusionProxy students STUDENT_SIZES=xs s m (about 25 min each; resumes)
	for s in $(STUDENT_SIZES); do \
		$(VPY) -m distill train-student --data data/fusion --size $$s --out runs/student_$$s $(ARGS) && \
		mkdir -p fusion/student/weights && cp runs/student_$$s/student.pt fusion/student/weights/fusionproxy_$$s.pt && \
		cp runs/student_$$s/manifest.json fusion/student/weights/fusionproxy_$$s.manifest.json || exit 1; \
	done

# the recipe's ablations (distill/ablate.py): each trained, exported, probed and driven paired in short closed loop
# (resumes; each ablation about 0.3 s a training step alone on 2 cores, e.g. ARGS='--steps 2000')
ablate: $(STAMP)  ## train, probe and drive the recipe's ablations (ARGS='--steps 2000 ...')
	$(VPY) -m distill ablate --data data/fusion --out runs/ablate $(ARGS)

# one agent + fusion variant on one scenario's routes, scored as the leaderboard does
drive: $(STAMP)  ## one agent and variant on a scenario's routes: AGENT= VARIANT= ROUTES=
	$(VPY) -m harness drive --scenario $(SCENARIO) --agent $(AGENT) --variant $(VARIANT) --routes $(or $(ROUTES),0-4) --workers $(WORKERS) $(BACKEND_ARGS) $(if $(OUT),--out $(OUT)) --resume --json $(ARGS)

clean:  ## remove .venv and pytest's cache
	rm -rf $(VENV) .pytest_cache
