import pytest

from physllm.data_catalog import scan
from physllm.data_catalog.splits import PROTOCOLS, apply_protocol, resolve_protocol, select, split_subjects
from physllm.errors import PhysllmError
from tests.data_catalog.dataset_writers import write_ubfc_subject

PURE_IDS = [f"pure/{s:02d}/{s:02d}-0{k}" for s in (10, 9, 8, 7, 6, 5, 4, 3, 2, 1) for k in (1, 2)]
UBFC_IDS = [f"ubfc-rppg/subject{s}/vid" for s in (1, 3, 4, 5, 8, 9, 10, 11, 12, 13)]
MMPD_IDS = [f"mmpd/subject{s}/p{s}_{k}" for s in (1, 2) for k in range(3)]


def subjects(ids):
    return sorted({i.split("/")[1] for i in ids}, key=lambda s: int("".join(filter(str.isdigit, s))))


def test_intra_protocol_splits_numerically_sorted_subjects_like_the_toolbox():
    parts = apply_protocol(resolve_protocol("ubfc-intra"), UBFC_IDS)
    # 10 subjects: [int(0*10), int(.6*10)) = first 6, then 2, then 2, in numeric (not string) order
    assert subjects(parts["train"]) == ["subject1", "subject3", "subject4", "subject5", "subject8", "subject9"]
    assert subjects(parts["val"]) == ["subject10", "subject11"]
    assert subjects(parts["test"]) == ["subject12", "subject13"]


def test_cross_protocol_trains_on_sources_and_tests_on_all_of_the_target():
    protocol = resolve_protocol("PURE + UBFC → MMPD")
    assert protocol is PROTOCOLS["pure+ubfc-rppg->mmpd"]
    parts = apply_protocol(protocol, PURE_IDS + UBFC_IDS + MMPD_IDS)
    assert subjects([i for i in parts["train"] if i.startswith("pure/")]) == [f"{s:02d}" for s in range(1, 9)]
    assert subjects([i for i in parts["val"] if i.startswith("pure/")]) == ["09", "10"]
    assert len([i for i in parts["train"] if i.startswith("ubfc")]) == 8
    assert sorted(parts["test"]) == sorted(MMPD_IDS)
    assert not set(parts["train"]) & set(parts["val"])


def test_aliases_and_unknown_names():
    assert resolve_protocol("ubfc->pure") is PROTOCOLS["ubfc-rppg->pure"]
    assert resolve_protocol("pure→ubfc") is PROTOCOLS["pure->ubfc-rppg"]
    assert apply_protocol(resolve_protocol("mmpd->pure"), PURE_IDS)["test"] == PURE_IDS
    with pytest.raises(PhysllmError, match="unknown protocol 'bogus'.*pure-intra"):
        resolve_protocol("bogus")


def test_split_subjects_and_select_work_on_records(tmp_path):
    for n in (1, 2, 3, 10, 11):
        write_ubfc_subject(tmp_path, f"subject{n}", num_frames=3)
    records = scan("ubfc-rppg", tmp_path)
    train, test = split_subjects(records, (0.6, 0.4))
    assert [r.subject for r in train] == ["subject1", "subject2", "subject3"]
    assert [r.subject for r in test] == ["subject10", "subject11"]
    assert [r.subject for r in select(records, "ubfc", (0.8, 1.0))] == ["subject11"]
    with pytest.raises(PhysllmError, match="sum to 1"):
        split_subjects(records, (0.5, 0.2))


SYNTH_LABELS = {f"synthetic/subject{i}/vid": {"light": light, "motion": "still", "skin_tone": "III-IV"}
                for i, light in enumerate(["bright", "flicker", "step", "bright", "flicker", "dim", "step"], 1)}


def test_leave_one_condition_out_tests_on_it_and_validates_on_its_partner():
    protocol = resolve_protocol("synthetic-loco-flicker")
    parts = apply_protocol(protocol, sorted(SYNTH_LABELS), SYNTH_LABELS)
    assert [SYNTH_LABELS[v]["light"] for v in parts["test"]] == ["flicker", "flicker"]
    assert [SYNTH_LABELS[v]["light"] for v in parts["val"]] == ["step", "step"]
    assert sorted(SYNTH_LABELS[v]["light"] for v in parts["train"]) == ["bright", "bright", "dim"]


def test_leave_one_condition_out_needs_labels():
    with pytest.raises(PhysllmError, match="no scenario labels"):
        apply_protocol(resolve_protocol("synthetic-loco-dim"), sorted(SYNTH_LABELS))


def test_the_two_renderers_cross():
    first = [f"synthetic/subject{i}/vid" for i in range(1, 6)]
    parts = apply_protocol(resolve_protocol("synthetic->synthetic2"),
                           first + ["synthetic2/subject1/vid", "synthetic2/subject2/vid"])
    assert parts["test"] == ["synthetic2/subject1/vid", "synthetic2/subject2/vid"]
    assert parts["train"] == first[:4] and parts["val"] == first[4:]


def test_model_selection_under_the_shift_uses_half_of_renderer_2():
    first = [f"synthetic/subject{i}/vid" for i in range(1, 4)]
    second = [f"synthetic2/subject{i}/vid" for i in range(1, 5)]
    parts = apply_protocol(resolve_protocol("synthetic->synthetic2-shiftval"), first + second)
    assert parts == {"train": first, "val": second[:2], "test": second[2:]}
