"""The device check where there is no Python (a Jetson Nano driven through trtexec, an Android
phone over adb): a POSIX-sh script whose ``key=value`` lines become the same report as
``runners/probe.py``'s (fields it cannot know are null)."""

from __future__ import annotations

from edgevid.transports import remote_sh as sh

TRTEXEC = ("trtexec", "/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec")


def script(workdir: str) -> str:
    finds = " ".join(sh.q(t) for t in TRTEXEC)
    return (
        sh.header(workdir)
        + f"""mkdir -p "$W" 2>/dev/null
echo "arch=$(uname -m)"; echo "os=$(uname -s)"; echo "kernel=$(uname -r)"
echo "hostname=$(uname -n)"
[ -r /etc/os-release ] && echo "os_release=$(. /etc/os-release; echo "$PRETTY_NAME")"
[ -r /proc/device-tree/model ] && echo "device_model=$(tr -d '\\000' </proc/device-tree/model)"
[ -r /etc/nv_tegra_release ] && echo "l4t=$(head -n 1 /etc/nv_tegra_release)"
command -v getprop >/dev/null 2>&1 && echo "android=$(getprop ro.build.version.release)" \\
  && echo "device_model=$(getprop ro.product.model)" && echo "abi=$(getprop ro.product.cpu.abi)"
for t in {finds}; do p=$(command -v "$t" 2>/dev/null) && {{ echo "trtexec=$p"; break; }}; done
for t in nvpmodel jetson_clocks vcgencmd python3; do
  p=$(command -v "$t" 2>/dev/null) && echo "program_$t=$p"; done
command -v nvpmodel >/dev/null 2>&1 && echo "nvpmodel=$(nvpmodel -q 2>&1 | tr '\\n' ' ')"
command -v vcgencmd >/dev/null 2>&1 && echo "throttled=$(vcgencmd get_throttled 2>&1)"
echo "cpu_count=$(grep -c ^processor /proc/cpuinfo 2>/dev/null)"
echo "disk_free_kb=$(df -Pk "$W" 2>/dev/null | tail -n 1 | awk '{{print $4}}')"
for z in /sys/class/thermal/thermal_zone*; do
  [ -r "$z/temp" ] && echo "zone=$z $(cat "$z/temp" 2>/dev/null) $(cat "$z/type" 2>/dev/null)"
done
for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq; do
  [ -r "$f" ] && echo "clock=$f $(cat "$f" 2>/dev/null)"
done
for d in "$W"/artifacts/*/; do [ -d "$d" ] && echo "cached=$(basename "$d")"; done
true
"""
    )


def parse(text: str, workdir: str) -> dict:
    kv: dict = {}
    zones, clocks, cached = [], [], []
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if not sep:
            continue
        v = v.strip()
        if k == "zone":
            parts = v.split(" ", 2)
            if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
                zones.append(
                    {
                        "path": parts[0],
                        "type": parts[2] if len(parts) > 2 else None,
                        "temp_c": int(parts[1]) / 1000.0,
                    }
                )
        elif k == "clock":
            parts = v.split(" ")
            if len(parts) == 2 and parts[1].isdigit():
                clocks.append({"path": parts[0], "mhz": int(parts[1]) / 1000.0})
        elif k == "cached":
            cached.append(v)
        else:
            kv[k] = v
    trtexec = kv.get("trtexec")
    free = kv.get("disk_free_kb")
    return {
        "probe_version": 1,
        "probe": "sh",
        "arch": kv.get("arch"),
        "os": kv.get("os"),
        "os_release": kv.get("os_release")
        or (f"Android {kv['android']}" if kv.get("android") else None),
        "kernel": kv.get("kernel"),
        "hostname": kv.get("hostname"),
        "device_model": kv.get("device_model"),
        "abi": kv.get("abi"),
        "python": None,
        "numpy": None,
        "modules": {},
        "runtimes": {"tensorrt": {"version": None, "trtexec": trtexec}} if trtexec else {},
        "programs": {
            "trtexec": trtexec,
            **{
                p: kv.get(f"program_{p}")
                for p in ("nvpmodel", "jetson_clocks", "vcgencmd", "python3")
            },
        },
        "cpu_count": int(kv["cpu_count"]) if kv.get("cpu_count", "").isdigit() else None,
        "workdir": workdir,
        "disk_free_bytes": int(free or 0) * 1024 if (free or "").isdigit() else None,
        "thermal_zones": zones,
        "clocks": clocks,
        "jetson": {"l4t": kv.get("l4t"), "nvpmodel": kv.get("nvpmodel"), "jetson_clocks": None}
        if kv.get("l4t") or kv.get("nvpmodel")
        else None,
        "raspberry_pi": {"model": kv.get("device_model"), "throttled": kv.get("throttled")}
        if kv.get("throttled")
        else None,
        "cache": {"bundles": [], "artifacts": cached},
    }
