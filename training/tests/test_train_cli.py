"""`npm run train -- --data DIR --name MODEL` (pipeline.main): writes <models-dir>/MODEL/ and nothing beside it,
refuses an existing folder without --force, takes name, version and the card's data description from the flags and
the data, and leaves the e2e parity fixture to its own model. One smoke-sized run on a synthetic catalogue."""
import hashlib
import json
from pathlib import Path

import pytest

from inpage_train import pipeline as P
from synthetic import make_domain


def tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def store_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    data = make_domain(tmp / "data", "corner-shop", 45, 70, True, 5)
    models = tmp / "models"
    other = models / "other-model"
    other.mkdir(parents=True)
    (other / "manifest.json").write_text('{"name": "other-model", "version": "9.9.9"}')
    before = {"other": tree_digest(other), "public": tree_digest(P.MODELS_DIR),
              "fixture": hashlib.sha256(P.PARITY_FIXTURE.read_bytes()).hexdigest()}
    args = ["--smoke", "--no-baselines", "--data", str(data), "--name", "corner-shop-v2", "--version", "2.3.0",
            "--data-description", "A made-up corner shop (test data).", "--models-dir", str(models),
            "--runs", str(tmp / "runs")]
    out = P.main(args)
    return {"tmp": tmp, "models": models, "args": args, "out": out, "before": before, "ship": models / "corner-shop-v2"}


def test_writes_only_its_own_folder(store_run):
    models, before = store_run["models"], store_run["before"]
    assert sorted(p.name for p in models.iterdir()) == ["corner-shop-v2", "other-model"]
    assert tree_digest(models / "other-model") == before["other"], "another model's folder was touched"
    assert tree_digest(P.MODELS_DIR) == before["public"], "public/models was touched by a run into another models dir"
    assert hashlib.sha256(P.PARITY_FIXTURE.read_bytes()).hexdigest() == before["fixture"], "the e2e parity fixture was touched"
    assert (store_run["tmp"] / "runs" / "smoke" / "parity.json").is_file(), "the run's parity fixture stays in its run"


def test_name_version_and_data_come_from_flags_and_data(store_run):
    ship = store_run["ship"]
    man = json.loads((ship / "manifest.json").read_text())
    assert (man["name"], man["version"]) == ("corner-shop-v2", "2.3.0")
    d = man["training"]["data"]
    assert (d["folder"], d["items"], d["users"]) == ("corner-shop", 45, 70)
    for f, meta in man["files"].items():
        assert hashlib.sha256((ship / f).read_bytes()).hexdigest() == meta["sha256"], f
    card = (ship / "MODEL_CARD.md").read_text()
    assert card.startswith("# corner-shop-v2 2.3.0 model card")
    assert "`corner-shop`: 70 users, 45 items" in card and "A made-up corner shop (test data)." in card
    # nothing of the Scientific model's own history on a store's card
    for s in ("Industrial & Scientific", "4,385", "version 1", "inpage-sci-v1", "Exploration before the final run"):
        assert s not in card, s


def test_refuses_an_existing_folder_without_force_before_training(store_run):
    ship, tmp = store_run["ship"], store_run["tmp"]
    before = tree_digest(ship)
    with pytest.raises(SystemExit, match="--force"):
        P.main(store_run["args"] + ["--run-name", "again"])
    assert not (tmp / "runs" / "again").exists(), "refused before any run folder was made"
    assert tree_digest(ship) == before


def test_bad_or_missing_names_are_refused(tmp_path):
    for args in (["--name", "../escape"], ["--name", "Has Space"], []):
        with pytest.raises(SystemExit):
            P.main(args + ["--models-dir", str(tmp_path / "m"), "--runs", str(tmp_path / "r")])
    with pytest.raises(SystemExit, match="--models-dir"):   # a smoke model never lands in public/models
        P.main(["--smoke", "--runs", str(tmp_path / "r")])
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_parity_fixture_belongs_to_its_model(tmp_path):
    owner = json.loads(P.PARITY_FIXTURE.read_text())["model"]
    run = tmp_path / "run"
    assert P.parity_target(None, owner, P.MODELS_DIR, run, smoke=False) == P.PARITY_FIXTURE
    assert P.parity_target(None, "a-store-v1", P.MODELS_DIR, run, smoke=False) == run / "parity.json"
    assert P.parity_target(None, owner, tmp_path / "models", run, smoke=False) == run / "parity.json"
    assert P.parity_target(None, owner, P.MODELS_DIR, run, smoke=True) == run / "parity.json"
