"""The Modified Ashworth Scale in words (CLINICAL.md 1.4): muscle groups, sides and grades, for the catalogs."""

from __future__ import annotations

from backend.care.schemas import MUSCLE_GROUPS
from backend.shared.i18n import N_

GROUPS = {
    "elbow_flexors": N_("Elbow flexors"),
    "elbow_extensors": N_("Elbow extensors"),
    "wrist_flexors": N_("Wrist flexors"),
    "finger_flexors": N_("Finger flexors"),
    "shoulder_adductors": N_("Shoulder adductors"),
    "hip_flexors": N_("Hip flexors"),
    "hip_adductors": N_("Hip adductors"),
    "knee_flexors": N_("Knee flexors"),
    "knee_extensors": N_("Knee extensors"),
    "ankle_plantarflexors": N_("Ankle plantarflexors"),
    "other": N_("Other"),
}
assert set(GROUPS) == set(MUSCLE_GROUPS)
SIDES = {"left": N_("Left"), "right": N_("Right")}
# The Modified Ashworth Scale (Bohannon and Smith 1987; CLINICAL.md 1.4), each grade in words.
GRADES = {
    "0": N_("0: no increase in muscle tone"),
    "1": N_("1: slight increase, a catch and release or minimal resistance at the end of the range"),
    "1+": N_("1+: slight increase, a catch followed by minimal resistance through less than half the range"),
    "2": N_("2: more marked increase through most of the range, but the part moves easily"),
    "3": N_("3: considerable increase, passive movement difficult"),
    "4": N_("4: the part is rigid in flexion or extension"),
}
