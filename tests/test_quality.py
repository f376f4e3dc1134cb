"""The evaluation's headline directions on a CI-sized subset: a regression in any stage fails here."""
import quality_data

evaluate = quality_data.evaluate


def test_pipeline_beats_raw_network_on_davis(engine):
    from livematte.config import Config

    scores = evaluate.evaluate_davis(engine, Config(), limit=15, sequences=("parkour",), start=20)["parkour"]
    raw, ours = scores["raw"], scores["smooth+refine"]
    assert ours["flicker"] < 0.75 * raw["flicker"]
    assert ours["dtssd"] < raw["dtssd"]
    assert ours["iou"] > raw["iou"] - 0.005
    assert scores["lookahead2+refine"]["flicker"] < raw["flicker"]


def test_refined_portraits_beat_raw(engine):
    from livematte.config import Config

    names = ["p_07141906", "p_818e689d"]
    rows = evaluate.evaluate_portraits(engine, Config(), names, side=720)
    for row in rows.values():
        # 0.73 and 0.53 of raw with refine's colour-guided snaps; 0.90 and 0.72 before them.
        assert row["refined"]["mad"] < 0.8 * row["raw"]["mad"]
        assert row["refined"]["iou"] >= row["raw"]["iou"]
