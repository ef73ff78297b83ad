#!/usr/bin/env bash
# The signal-lamp experiments of FusionProxy (fusion/student/README.md, "The signal lamps"): what makes the frozen policy
# stop at a light (python -m fusion cues) for the committed student and teacher and for the three lamp-trained
# students, on the perception probe's frames of fog_town05 and night_fog_town05. About 15 min on this 2-core CPU
# once the probe's frames are cached (the teacher fuses 200 frames per scenario at ~1 s each).
# The lamp-trained students come from (each ~20 min alone; the first two need the third-stage teacher's cache):
#   python -m distill train-teacher --data data/fusion --out runs/teacher4 --threads 2 \
#     --init fusion/teacher/weights/teacher.pt --steps 2000 --lr 1e-3 --warmup 50 --lamp-weight 150 --lamp-crops 0.75
#   python -m distill cache-ensemble --data data/fusion --out data/ensemble --teacher runs/teacher4/teacher.pt
#   python -m distill train-student --size s --cache data/ensemble/<its key> --out runs/student_s_lamps \
#     --lamp-weight 150 --lamp-crops 0.5
#   python -m distill train-student --size s --cache data/ensemble/<its key> --rgb-gate --out runs/student_s_gate \
#     --lamp-weight 30 --lamp-crops 0.5
#   python -m distill train-student --size s --rgb-gate --out runs/student_s_seen --lamp-weight 30 --lamp-crops 0.5 \
#     --lamp-seen 0.2      (from the committed teacher's cache, the default)
#   python -m distill train-student --size s --backbone policy --out runs/student_s_polbb   (the policy_backbone ablation)
#   python -m distill export --weights runs/student_s_lamps/student.pt --out runs/lamps --name lamp150
#   python -m distill export --weights runs/student_s_polbb/student.pt --out runs/lamps --name polbb
#   python -m distill export --weights runs/student_s_seen/student.pt --out runs/lamps --name seen
#   python -m distill export --weights runs/student_s_gate/student.pt --out runs/lamps --name gate
set -euo pipefail
cd "$(dirname "$0")/../../../.."
OUT=results/reference/fusionproxy/lamps
PY=.venv/bin/python
V=fusionproxy,teacher
[ -f runs/lamps/seen.onnx ] && V=$V,onnx:runs/lamps/lamp150.onnx,onnx:runs/lamps/gate.onnx,onnx:runs/lamps/seen.onnx
for S in fog_town05 night_fog_town05; do
  $PY -m fusion cues --scenario $S --variants $V --out $OUT/cues_$S --json > /dev/null
done
# the policy-encoder student beside the committed one
if [ -f runs/lamps/polbb.onnx ]; then
  for S in fog_town05 night_fog_town05; do
    $PY -m fusion cues --scenario $S --variants fusionproxy,onnx:runs/lamps/polbb.onnx --out $OUT/cues_policy_backbone_$S \
      --json > /dev/null
  done
fi
