"""hops.fs, the SDK's project store, against a real `hops lab` (its default local store)."""
import os

import pandas
import pytest

import hops


def test_pandas_reads_a_csv_from_the_store(hops_lab, tmp_path):
    local = tmp_path / "iris.csv"
    local.write_text("sepal,petal\n5.1,1.4\n4.9,1.3\n")
    hops.fs.put(str(local), "Resources/iris.csv")
    df = pandas.read_csv(hops.fs.open("Resources/iris.csv"))
    assert list(df.columns) == ["sepal", "petal"] and len(df) == 2 and df["petal"].sum() == pytest.approx(2.7)
    names = {e["name"]: e for e in hops.fs.ls("Resources")}
    assert names["iris.csv"]["size"] == local.stat().st_size and not names["iris.csv"]["dir"]
    assert [e["name"] for e in hops.fs.ls()] == ["Experiments", "FeatureStore", "Logs", "Models", "Resources"]


def test_writes_are_published_when_closed_and_discarded_on_error(hops_lab):
    with hops.fs.open("Models/notes.txt", "w") as f:
        f.write("trained on iris\n")
        assert not hops.fs.exists("Models/notes.txt"), "a file being written is not visible yet"
    assert hops.fs.open("Models/notes.txt").read() == b"trained on iris\n"
    with pytest.raises(RuntimeError):
        with hops.fs.open("Models/notes.txt", "w") as f:
            f.write("half")
            raise RuntimeError("the training crashed")
    assert hops.fs.open("Models/notes.txt", "r").read() == "trained on iris\n"
    big = os.urandom(3 << 20)
    with hops.fs.open("Models/weights.bin", "wb") as f:
        f.write(big)
    assert hops.fs.open("Models/weights.bin").read() == big


def test_get_mkdir_mv_rm(hops_lab, tmp_path):
    hops.fs.mkdir("Resources/raw/2026")
    with hops.fs.open("Resources/raw/2026/a.txt", "wb") as f:
        f.write(b"a")
    hops.fs.mv("Resources/raw/2026/a.txt", "Resources/a.txt")
    hops.fs.get("Resources/a.txt", str(tmp_path / "a.txt"))
    assert (tmp_path / "a.txt").read_bytes() == b"a"
    hops.fs.rm("Resources/raw")
    assert not hops.fs.exists("Resources/raw") and hops.fs.exists("Resources/a.txt")


def test_bad_input_is_a_clear_error(hops_lab, monkeypatch):
    with pytest.raises(hops.HopsError, match="does not exist") as e:
        hops.fs.open("Resources/nope.csv")
    assert e.value.status == 404
    with pytest.raises(hops.HopsError) as e:
        hops.fs.ls("../../etc")
    assert e.value.status == 400
    with pytest.raises(IsADirectoryError):
        hops.fs.open("Resources")
    with pytest.raises(ValueError, match="mode"):
        hops.fs.open("Resources/x", "a")
    monkeypatch.delenv("HOPS_SERVER_URL")
    with pytest.raises(hops.HopsError, match="not started by hops lab"):
        hops.fs.ls()
