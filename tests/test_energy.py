"""Energy sources on recorded sysfs trees and command outputs (tests/data/energy, written from the
kernel's and tools' documentation: see its README), and the meter's arithmetic on a fake clock."""
import os
import shutil
from pathlib import Path

import pytest

from edgevid.runners.energy import NotAvailable, android, jetson, open_source, rapl, rpi
from edgevid.runners.energy.meter import Meter, Recorder, summary

DATA = Path(__file__).parent / "data" / "energy"


@pytest.fixture
def tree(tmp_path):
    out = tmp_path / "energy"
    shutil.copytree(DATA, out, symlinks=True)
    return out


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_rapl_zones_total_and_counter_differences_with_wrap(tree):
    src = rapl.open(str(tree / "powercap"))
    assert src.rails == ["package-0", "package-0/core", "package-0/uncore"]
    assert src.total == ["package-0"] and src.KIND == "counter"
    assert src.read()["package-0"] == pytest.approx(1.0)
    clock = Clock()
    m = Meter(src, 0.1, clock)
    m.start()
    pkg = tree / "powercap" / "intel-rapl:0" / "energy_uj"
    pkg.write_text("3000000\n")  # +2 J in 1 s
    clock.t += 1.0
    m.poll()
    pkg.write_text("500000\n")  # wrapped: +(262143.32885 - 3) + 0.5 J
    clock.t += 1.0
    w = m.stop()
    assert m.wrapped == 1
    assert w["energy_j"] == pytest.approx(2.0 + 262143.32885 - 3.0 + 0.5)
    assert w["window_s"] == pytest.approx(2.0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-0400 file anyway")
def test_rapl_root_only_is_said(tree):
    os.chmod(tree / "powercap" / "intel-rapl:0" / "energy_uj", 0)
    with pytest.raises(NotAvailable, match="root only"):
        rapl.open(str(tree / "powercap"))


def test_rapl_absent():
    with pytest.raises(NotAvailable, match="no RAPL zones"):
        rapl.open(str(DATA / "nothing-here"))


def test_jetson_ina3221_rails_and_vdd_in_is_the_total(tree):
    src = jetson.open(str(tree / "hwmon"))
    assert src.rails == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"] and src.total == ["VDD_IN"]
    assert src.read() == pytest.approx({"VDD_IN": 6.0, "VDD_CPU_GPU_CV": 1.5, "VDD_SOC": 2.0})


def test_power_source_integrates_with_trapezoid_and_idle_baseline(tree):
    src = jetson.open(str(tree / "hwmon"))
    clock = Clock()
    curr = tree / "hwmon" / "hwmon0" / "curr1_input"

    def sleep(s):
        clock.t += s

    m = Meter(src, 0.5, clock)
    idle = m.idle(1.0, sleep)  # 6 W throughout
    assert idle["mean_w"] == pytest.approx(6.0) and idle["samples"] >= 3
    m.start()
    curr.write_text("2000\n")  # 10 W
    clock.t += 1.0
    m.poll()
    clock.t += 1.0
    w = m.stop()
    assert w["energy_j"] == pytest.approx((6 + 10) / 2 + 10)
    out = summary(src, 0.5, w, inferences=100, idle=idle)
    assert out["mj_per_inference"] == pytest.approx(180.0)
    assert out["mean_w"] == pytest.approx(9.0) and out["idle_w"] == pytest.approx(6.0)
    assert out["idle_subtracted"] is False
    assert out["mj_per_inference_above_idle"] == pytest.approx((18 - 12) * 10)
    assert out["source"] == "jetson-ina3221" and out["sampling_interval_s"] == 0.5


def test_rpi5_pmic_parse_and_source():
    text = (DATA / "pmic_read_adc.txt").read_text()
    watts = rpi.parse(text)
    assert set(watts) == {"3V7_WL_SW", "3V3_SYS", "1V8_SYS", "DDR_VDD2", "VDD_CORE"}
    assert watts["VDD_CORE"] == pytest.approx(0.8) and "EXT5V" not in watts
    src = rpi.open(run=lambda: text)
    assert sum(src.read().values()) == pytest.approx(0.37 + 0.33 + 0.36 + 0.055 + 0.8)
    assert "5 V input" in src.note
    with pytest.raises(NotAvailable, match="no rail"):
        rpi.open(run=lambda: "error=1 error_msg=\"Command not registered\"\n")


def test_android_battery_and_charging_refused(tree):
    src = android.open(str(tree / "power_supply" / "battery"))
    assert src.read() == {"battery": pytest.approx(2.0)}  # |-0.5 A| x 4 V
    (tree / "power_supply" / "battery" / "status").write_text("Charging\n")
    with pytest.raises(NotAvailable, match="charging"):
        android.open(str(tree / "power_supply" / "battery"))


def test_recorder_not_available_and_failure_mid_run(tree):
    rec = Recorder(None, {"rapl": "no RAPL zones"}, 0.1)
    rec.tick("start")
    rec.tick("stop")
    out = rec.result(10)
    assert out["available"] is False and out["reason"].startswith("not available: rapl: no RAPL")
    src = android.open(str(tree / "power_supply" / "battery"))
    rec = Recorder(src, {}, 0.0)
    rec.tick("start")
    (tree / "power_supply" / "battery" / "current_now").unlink()
    rec.tick("sample")
    rec.tick("stop")
    out = rec.result(10)
    assert out["available"] is False and "reading failed" in out["reason"]


def test_auto_on_this_machine_names_every_source_it_tried():
    source, reasons = open_source("auto")
    if source is None:  # e.g. this CI VM: nothing readable, every reason stated
        assert set(reasons) == {"rapl", "nvml", "jetson-ina3221", "rpi5-pmic", "android-battery"}
        assert all(reasons.values())
