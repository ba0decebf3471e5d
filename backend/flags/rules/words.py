"""What the rules say to the patient: one template per finding, with named placeholders for the case's numbers.

The English text a flag stores is ``said(key, **values)``; backend/flags/wording.py turns it into the patient's
language from the same template. This module alone of the rules folder is extracted into the catalogs (make
messages), so each template is one literal marked ``N_``; the rules stay free of the translation machinery.
"""

from __future__ import annotations


def N_(text: str) -> str:
    return text


PATIENT: dict[str, str] = {
    "R1": N_(
        "You have had episodes often: %(first)s and then %(second)s in the last two weeks. Mention this to "
        "your doctor or nurse at your next appointment, or book one."
    ),
    "R2_NIGHTS": N_(
        "Spasms or cramps woke you on %(first)s and then %(second)s nights in the last two weeks. Mention "
        "this to your doctor or nurse at your next appointment, or book one."
    ),
    "R2_SCORE": N_(
        "Your sleep has been disturbed by spasms or cramps for two weeks. Mention this to your doctor or "
        "nurse at your next appointment, or book one."
    ),
    "R3_ONE": N_(
        "You logged %(n)s very strong episode recently. Mention this to your doctor or nurse at your next "
        "appointment, or book one."
    ),
    "R3_MANY": N_(
        "You logged %(n)s very strong episodes recently. Mention this to your doctor or nurse at your next "
        "appointment, or book one."
    ),
    "R4": N_(
        "Stretching, heat and other self-care gave little relief in %(poor)s of %(treated)s recent episodes. "
        "Mention this to your doctor or nurse at your next appointment, or book one."
    ),
    "R5": N_(
        "Your episodes keep coming back: they were there in %(n)s of the last 4 weeks. Mention this to your "
        "doctor or nurse at your next appointment, or book one."
    ),
    "R6_STIFFNESS": N_(
        "Your stiffness has been clearly stronger over the last two weeks than before. Mention this to your "
        "doctor or nurse at your next appointment, or book one."
    ),
    "R6_EPISODES": N_(
        "Your episodes have been clearly stronger over the last two weeks than before. Mention this to your "
        "doctor or nurse at your next appointment, or book one."
    ),
    "R6_COUNT": N_(
        "You have logged more episodes in the last 4 weeks (%(newer)s) than in the 4 weeks before "
        "(%(older)s). Mention this to your doctor or nurse at your next appointment, or book one."
    ),
    "R7": N_(
        "It is time to review %(medicine)s with your doctor or nurse: is it helping enough? Mention this to "
        "your doctor or nurse at your next appointment, or book one."
    ),
    "R8": N_(
        "You noted that some muscles look smaller or are getting weaker. Mention this to your doctor or nurse"
        " at your next appointment, or book one."
    ),
    "R9": N_(
        "Most of your recent episodes had no clear cause. Mention this to your doctor or nurse at your next "
        "appointment, or book one."
    ),
    "R10": N_(
        "Your regular medicines were taken as planned about %(share)s of the time. If something makes them "
        "hard to take, mention this to your doctor or nurse at your next appointment, or book one."
    ),
    "R11": N_(
        'Your diary has gaps this week. A quick check-in each day, even "no episodes today", helps your care '
        "team see how you are."
    ),
    "S1_FIRST": N_(
        "Your first logged episode came after you started %(medicine)s. Contact your care team (doctor, nurse"
        " or physiotherapist) within the next day or two."
    ),
    "S1_MORE": N_(
        "You have had more episodes since you started %(medicine)s. Contact your care team (doctor, nurse or "
        "physiotherapist) within the next day or two."
    ),
    "S2": N_(
        "Your legs keep cramping when you walk and ease when you stop. Contact your care team (doctor, nurse "
        "or physiotherapist) within the next day or two."
    ),
    "S3": N_(
        "Your spasms or stiffness have suddenly increased. Check for a urine infection, constipation, sore "
        "skin, tight clothing or an injury. Contact your care team (doctor, nurse or physiotherapist) within "
        "the next day or two."
    ),
    "S4": N_(
        "You have had new or worse symptoms for more than a day. Contact your MS team (nurse or neurologist) "
        "within the next day or two."
    ),
    "S5_STOPPED": N_(
        "You stopped baclofen. Stopping it suddenly can be risky. Contact your care team (doctor, nurse or "
        "physiotherapist) within the next day or two."
    ),
    "S5_MISSED": N_(
        "You have missed your baclofen for %(n)s days. Do not stop it without advice. Contact your care team "
        "(doctor, nurse or physiotherapist) within the next day or two."
    ),
    "S6": N_(
        "Your spasms are still up a week after you checked for the usual triggers. Contact your care team "
        "(doctor, nurse or physiotherapist) within the next day or two."
    ),
    "U1_GOING_ON": N_(
        "An episode has been going on for more than %(minutes)s minutes. Get medical help now: call your "
        "doctor's urgent line or emergency services."
    ),
    "U1_GOING_ON_NO_RELIEF": N_(
        "An episode has been going on for more than %(minutes)s minutes and stretching or other self-care has"
        " not helped. Get medical help now: call your doctor's urgent line or emergency services."
    ),
    "U1_LASTED": N_(
        "An episode lasted for more than %(minutes)s minutes. Get medical help now: call your doctor's urgent"
        " line or emergency services."
    ),
    "U1_LASTED_NO_RELIEF": N_(
        "An episode lasted for more than %(minutes)s minutes and stretching or other self-care has not "
        "helped. Get medical help now: call your doctor's urgent line or emergency services."
    ),
    "U2": N_(
        "You logged cramps or spasms after a wound or contact with a poison. Get medical help now: call your "
        "doctor's urgent line or emergency services."
    ),
    "U3": N_(
        "You logged a cramp in your chest, arm or belly. Cramps there can have other causes. Get medical help"
        " now: call your doctor's urgent line or emergency services."
    ),
    "U4": N_(
        "You noted new or worse weakness, numbness or twitching. Get medical help now: call your doctor's "
        "urgent line or emergency services."
    ),
    "U5": N_(
        "You have cramps after losing a lot of fluid (vomiting, diarrhoea, heavy sweating or water tablets). "
        "Sip fluids. Get medical help now: call your doctor's urgent line or emergency services."
    ),
    "U6": N_(
        "You noted swelling with redness, warmth or skin changes. Get medical help now: call your doctor's "
        "urgent line or emergency services."
    ),
    "U7": N_(
        "Your baclofen pump may not be delivering medicine, and you have warning signs (itching, fever, "
        "confusion or a racing heart). Get medical help now: call your doctor's urgent line or emergency "
        "services. Tell them you have a baclofen pump."
    ),
    "U8": N_(
        "You have signs that can come with a dangerous rise in blood pressure after a spinal cord injury "
        "(pounding headache, flushing or sweating, or a high reading). Sit up, loosen tight clothing and "
        "check your bladder. Get medical help now: call your doctor's urgent line or emergency services."
    ),
    "U9": N_(
        "You logged spasms with trouble breathing or swallowing. Get medical help now: call your doctor's "
        "urgent line or emergency services."
    ),
    "U10": N_(
        "Your spasms or stiffness have jumped and you have a fever or chills. This can be a sign of an "
        "infection. Get medical help now: call your doctor's urgent line or emergency services."
    ),
}


def said(key: str, **values: object) -> str:
    """The English words of one template filled in with the case's values: said("R5", n=3)."""
    return PATIENT[key] % values
