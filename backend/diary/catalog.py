"""The controlled vocabularies of the diary (CLINICAL.md section (b)), with plain-language labels.

Codes are stable identifiers stored in the database and sent over the API; labels are what people read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

EpisodeKind = Literal["cramp", "spasm", "flexor_spasm", "extensor_spasm", "stiffness_flare", "clonus", "other"]
EPISODE_KINDS: dict[str, str] = {
    "cramp": "Cramp",
    "spasm": "Spasm",
    "flexor_spasm": "Flexor spasm (limb pulls in)",
    "extensor_spasm": "Extensor spasm (limb straightens)",
    "stiffness_flare": "Stiffness flare",
    "clonus": "Clonus (rhythmic jerking)",
    "other": "Something else",
}

# Body sites grouped by region: U3 (atypical cramp site) looks at the arm, chest and abdomen regions, U6 at the leg.
BodySite = Literal[
    "jaw",
    "neck",
    "chest",
    "abdomen",
    "upper_back",
    "lower_back",
    "shoulder",
    "upper_arm",
    "forearm",
    "hand",
    "hip",
    "thigh",
    "hamstring",
    "calf",
    "shin",
    "foot",
    "toes",
]
BODY_SITES: dict[str, tuple[str, str]] = {
    "jaw": ("Jaw", "head"),
    "neck": ("Neck", "head"),
    "chest": ("Chest", "chest"),
    "abdomen": ("Belly", "abdomen"),
    "upper_back": ("Upper back", "trunk"),
    "lower_back": ("Lower back", "trunk"),
    "shoulder": ("Shoulder", "arm"),
    "upper_arm": ("Upper arm", "arm"),
    "forearm": ("Forearm", "arm"),
    "hand": ("Hand or fingers", "arm"),
    "hip": ("Hip or buttock", "leg"),
    "thigh": ("Front of thigh", "leg"),
    "hamstring": ("Back of thigh", "leg"),
    "calf": ("Calf", "leg"),
    "shin": ("Shin", "leg"),
    "foot": ("Foot", "leg"),
    "toes": ("Toes", "leg"),
}
Side = Literal["left", "right", "both", "middle"]
SIDES: dict[str, str] = {"left": "Left", "right": "Right", "both": "Both sides", "middle": "Middle"}

Trigger = Literal[
    "exercise",
    "walking",
    "position_change",
    "touch",
    "transfer",
    "full_bladder",
    "constipation",
    "uti_symptoms",
    "skin_problem",
    "tight_clothing",
    "heat",
    "cold",
    "fever",
    "stress",
    "fatigue",
    "muscle_tension",
    "injury",
    "alcohol",
    "dehydration",
    "low_potassium",
    "low_calcium",
    "missed_dose",
    "new_medicine",
    "none_known",
]
TRIGGERS: dict[str, str] = {
    "exercise": "Exercise or hard work",
    "walking": "Walking",
    "position_change": "Stretching or changing position",
    "touch": "Touch or pressure",
    "transfer": "Moving in or out of a chair or bed",
    "full_bladder": "Full bladder",
    "constipation": "Constipation",
    "uti_symptoms": "Signs of a urine infection",
    "skin_problem": "Sore skin or pressure sore",
    "tight_clothing": "Tight clothing or strapping",
    "heat": "Being hot",
    "cold": "Being cold",
    "fever": "Fever or feeling unwell",
    "stress": "Stress or worry",
    "fatigue": "Tiredness",
    "muscle_tension": "Tense muscles",
    "injury": "An injury",
    "alcohol": "Alcohol",
    "dehydration": "Not drinking enough",
    "low_potassium": "Low potassium (as told by a test)",
    "low_calcium": "Low calcium (as told by a test)",
    "missed_dose": "A missed medicine dose",
    "new_medicine": "A new medicine",
    "none_known": "No idea",
}

# The red-flag checklist behind rules U3-U10 (CLINICAL.md section (a)).
Symptom = Literal[
    "new_numbness",
    "new_weakness",
    "twitching",
    "swelling",
    "redness",
    "warmth",
    "skin_change",
    "fever_or_chills",
    "breathing_difficulty",
    "swallowing_difficulty",
    "pounding_headache",
    "flushing_or_sweating",
    "itching",
    "confusion",
    "racing_heart",
    "muscle_wasting",
]
SYMPTOMS: dict[str, str] = {
    "new_numbness": "New or worse numbness or loss of feeling",
    "new_weakness": "New or worse weakness",
    "twitching": "New muscle twitching",
    "swelling": "Swelling",
    "redness": "Redness",
    "warmth": "Warm to the touch",
    "skin_change": "Skin looks different",
    "fever_or_chills": "Fever or chills",
    "breathing_difficulty": "Trouble breathing",
    "swallowing_difficulty": "Trouble swallowing",
    "pounding_headache": "Pounding headache",
    "flushing_or_sweating": "Flushing or sweating",
    "itching": "Itching without a rash",
    "confusion": "Confusion or unusual drowsiness",
    "racing_heart": "Racing heart",
    "muscle_wasting": "Muscles look smaller or are getting weaker over time",
}

Context = Literal["recent_wound", "toxin_exposure", "fluid_loss", "diuretic_increase", "itb_pump_alarm"]
CONTEXTS: dict[str, str] = {
    "recent_wound": "A recent cut or wound (especially with soil)",
    "toxin_exposure": "Contact with lead, mercury or other poisons",
    "fluid_loss": "Vomiting, diarrhoea or heavy sweating in the last two days",
    "diuretic_increase": "Water tablet (diuretic) dose raised",
    "itb_pump_alarm": "Baclofen pump alarm or missed refill",
}

TreatmentKind = Literal[
    "rest",
    "heat",
    "cold",
    "stretching",
    "massage",
    "fluids",
    "walking",
    "muscle_relaxant",
    "antispasmodic",
    "pain_reliever",
    "mineral_supplement",
    "physiotherapy",
    "other_medicine",
    "other",
]
TREATMENTS: dict[str, str] = {
    "rest": "Rest",
    "heat": "Heat",
    "cold": "Cold",
    "stretching": "Stretching",
    "massage": "Massage",
    "fluids": "Drinking fluids",
    "walking": "Walking it off",
    "muscle_relaxant": "Muscle relaxant",
    "antispasmodic": "Antispasticity medicine",
    "pain_reliever": "Pain reliever",
    "mineral_supplement": "Mineral supplement",
    "physiotherapy": "Physiotherapy exercises",
    "other_medicine": "Another medicine",
    "other": "Something else",
}
DRUG_TREATMENTS = frozenset(
    {"muscle_relaxant", "antispasmodic", "pain_reliever", "mineral_supplement", "other_medicine"}
)

Impact = Literal[
    "stopped_walking", "fall", "could_not_transfer", "interrupted_activity", "could_not_sleep", "missed_work"
]
IMPACTS: dict[str, str] = {
    "stopped_walking": "Had to stop walking",
    "fall": "Fell or nearly fell",
    "could_not_transfer": "Could not move in or out of a chair or bed",
    "interrupted_activity": "Had to stop what I was doing",
    "could_not_sleep": "Could not sleep",
    "missed_work": "Missed work, school or plans",
}

Reporter = Literal["self", "carer"]

RegimenKind = Literal[
    "rest",
    "heat",
    "cold",
    "stretching",
    "muscle_relaxant",
    "antispasmodic",
    "nutritional_correction",
    "physiotherapy",
    "occupational_therapy",
    "botulinum_toxin",
    "surgery",
    "other",
]
REGIMEN_KINDS: dict[str, str] = {
    "rest": "Rest",
    "heat": "Heat",
    "cold": "Cold",
    "stretching": "Stretching routine",
    "muscle_relaxant": "Muscle relaxant",
    "antispasmodic": "Antispasticity medicine",
    "nutritional_correction": "Correcting a mineral or vitamin shortfall",
    "physiotherapy": "Physiotherapy",
    "occupational_therapy": "Occupational therapy",
    "botulinum_toxin": "Botulinum toxin injections",
    "surgery": "Surgery",
    "other": "Other",
}

Condition = Literal[
    "idiopathic_cramps",
    "night_cramps",
    "multiple_sclerosis",
    "spinal_cord_injury",
    "cerebral_palsy",
    "stroke",
    "other",
]
CONDITIONS: dict[str, str] = {
    "idiopathic_cramps": "Muscle cramps with no known cause",
    "night_cramps": "Night-time leg cramps",
    "multiple_sclerosis": "Multiple sclerosis",
    "spinal_cord_injury": "Spinal cord injury",
    "cerebral_palsy": "Cerebral palsy",
    "stroke": "Stroke or other brain injury",
    "other": "Other",
}

MedsTaken = Literal["all", "some", "none", "no_regular_medicines"]
MEDS_TAKEN: dict[str, str] = {
    "all": "Yes, all of them",
    "some": "Some of them",
    "none": "No, none",
    "no_regular_medicines": "I have no regular medicines",
}

Language = Literal["en", "es"]


def codes(literal: object) -> tuple[str, ...]:
    return tuple(get_args(literal))


def _check_in_step() -> None:
    """Each Literal and its label table must list the same codes; a mismatch is a programming error at import."""
    pairs: list[tuple[Any, Mapping[str, object]]] = [
        (EpisodeKind, EPISODE_KINDS),
        (BodySite, BODY_SITES),
        (Side, SIDES),
        (Trigger, TRIGGERS),
        (Symptom, SYMPTOMS),
        (Context, CONTEXTS),
        (TreatmentKind, TREATMENTS),
        (Impact, IMPACTS),
        (RegimenKind, REGIMEN_KINDS),
        (Condition, CONDITIONS),
        (MedsTaken, MEDS_TAKEN),
    ]
    for literal, table in pairs:
        if set(codes(literal)) != set(table):
            raise AssertionError(f"catalog out of step: {sorted(set(codes(literal)) ^ set(table))}")


_check_in_step()


def as_json() -> dict[str, object]:
    """The whole catalog for clients: code, label and, for body sites, the region."""
    return {
        "episode_kinds": [{"code": c, "label": lbl} for c, lbl in EPISODE_KINDS.items()],
        "body_sites": [{"code": c, "label": lbl, "region": region} for c, (lbl, region) in BODY_SITES.items()],
        "sides": [{"code": c, "label": lbl} for c, lbl in SIDES.items()],
        "triggers": [{"code": c, "label": lbl} for c, lbl in TRIGGERS.items()],
        "symptoms": [{"code": c, "label": lbl} for c, lbl in SYMPTOMS.items()],
        "contexts": [{"code": c, "label": lbl} for c, lbl in CONTEXTS.items()],
        "treatments": [{"code": c, "label": lbl, "drug": c in DRUG_TREATMENTS} for c, lbl in TREATMENTS.items()],
        "impacts": [{"code": c, "label": lbl} for c, lbl in IMPACTS.items()],
        "regimen_kinds": [{"code": c, "label": lbl} for c, lbl in REGIMEN_KINDS.items()],
        "conditions": [{"code": c, "label": lbl} for c, lbl in CONDITIONS.items()],
        "meds_taken": [{"code": c, "label": lbl} for c, lbl in MEDS_TAKEN.items()],
        "reporters": [{"code": "self", "label": "Me"}, {"code": "carer", "label": "My carer"}],
        "languages": [{"code": "en", "label": "English"}, {"code": "es", "label": "Español"}],
    }


def labels() -> list[str]:
    """Every label people read, for the translation catalogs (backend/messages.py)."""
    tables: list[Mapping[str, object]] = [
        EPISODE_KINDS,
        SIDES,
        TRIGGERS,
        SYMPTOMS,
        CONTEXTS,
        TREATMENTS,
        IMPACTS,
        REGIMEN_KINDS,
        CONDITIONS,
        MEDS_TAKEN,
    ]
    found = [str(label) for table in tables for label in table.values()]
    found += [label for label, _region in BODY_SITES.values()]
    return list(dict.fromkeys(found))
