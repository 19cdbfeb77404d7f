"""The assignments, as data: which notebook, which exercises, which student names each check gets.

The build step reads the exercise ids from the ``### BEGIN SOLUTION <id>`` markers and takes the
stub text from here; the grader calls the check registered for the exercise id (``@check("A2.3")``
in ``assignments/checks/``) as ``check(*student_symbols, **student_kwargs)``. Adding an assignment =
one solution notebook + one entry below + one module of checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..utils.names import unknown


@dataclass(frozen=True)
class Exercise:
    id: str                                   # "A2.3": assignment id + number, used in markers and CSV columns
    task: str                                 # the sentence the student's NotImplementedError stub shows
    symbols: tuple[str, ...]                  # student names passed positionally to the check
    kwargs: dict[str, str] = field(default_factory=dict)  # check keyword -> student variable name
    points: float = 1.0


@dataclass(frozen=True)
class Assignment:
    id: str
    slug: str                                 # file stem: notebooks/assignments/<slug>.ipynb
    title: str
    course_notebook: str                      # the course notebook it extends
    exercises: tuple[Exercise, ...]
    synth_profiles: tuple[str, ...] = ()      # SynthME profiles its notebook reads: generated once per grading run

    @property
    def filename(self) -> str:
        return f"{self.slug}.ipynb"


ASSIGNMENTS: tuple[Assignment, ...] = (
    Assignment("A1", "A1_inputs", "The model's inputs: apex − onset and optical flow",
               "01_data_and_preprocessing.ipynb", (
                   Exercise("A1.1", "return apex - onset as float32, without uint8 wrap-around",
                            ("difference_input",)),
                   Exercise("A1.2", "return the (H, W, 2) optical flow from onset to apex",
                            ("optical_flow",)),
                   Exercise("A1.3", "return the optical strain magnitude of a flow field",
                            ("optical_strain",)),
               ), synth_profiles=("quick",)),
    Assignment("A2", "A2_retention", "Retention: recurrent form = parallel form",
               "02_retention_from_scratch.ipynb", (
                   Exercise("A2.1", "build the (length, length) decay mask D[n, m] = gamma**(n - m) for n >= m, else 0",
                            ("decay_mask",)),
                   Exercise("A2.2", "compute parallel retention (Q K^T * D) V",
                            ("retention_parallel",)),
                   Exercise("A2.3", "compute retention step by step with the state S_n = gamma S_(n-1) + k_n^T v_n",
                            ("retention_recurrent",)),
               )),
    Assignment("A3", "A3_fusion", "Wire a fusion variant from the paper's description",
               "05_fusion_variants.ipynb", (
                   Exercise("A3.1", "wire S to T: upsample the ViT map, add it to the RMT stem output, "
                            "run the RMT stages, then the head", ("S2TFusion",),
                            {"variant": "VARIANT"}, 2.0),
               )),
    Assignment("A4", "A4_evaluation", "Metrics, LOSO and the leak in the evaluation loop",
               "06_training_loso.ipynb", (
                   Exercise("A4.1", "return the unweighted F1 (mean per-class F1)", ("uf1",)),
                   Exercise("A4.2", "return the unweighted average recall (mean per-class recall)", ("uar",)),
                   Exercise("A4.3", "return one (test_subject, train_idx, test_idx) fold per subject",
                            ("loso_split",)),
                   Exercise("A4.4", "fix the leak: evaluate with the epoch budget fixed in advance, and "
                            "measure the inflation", ("honest_evaluate",),
                            {"reported_inflation": "inflation"}, 2.0),
               )),
)


def get_assignment(key: str) -> Assignment:
    """Look an assignment up by id (``A2``) or slug (``A2_retention``)."""
    for a in ASSIGNMENTS:
        if key in (a.id, a.slug, a.filename):
            return a
    raise unknown("assignment", key, [a.id for a in ASSIGNMENTS] + [a.slug for a in ASSIGNMENTS])


def get_exercise(exercise_id: str) -> Exercise:
    """Look an exercise up by id (``A2.3``); its assignment (``A2``) must exist first."""
    a = get_assignment(exercise_id.split(".")[0])
    for e in a.exercises:
        if e.id == exercise_id:
            return e
    raise unknown("exercise", exercise_id, exercise_ids())


def exercise_ids() -> list[str]:
    """Every exercise id of the catalog, in assignment order."""
    return [e.id for a in ASSIGNMENTS for e in a.exercises]
