"""Make Debian's SoapySDR Python bindings (python3-soapysdr) importable inside the project's venv.

The bindings are a compiled module for the system Python; the venv may be built from another
interpreter of the same minor version. This writes a .pth file pointing at a private folder that
holds links to only the SoapySDR module files, so no other system package leaks into the venv.
Prints what it did; exits 0 even when the bindings are absent (the rest of Soragate works without).
"""

from __future__ import annotations

import glob
import os
import site
import sys

SYSTEM_DIRS = ["/usr/lib/python3/dist-packages", f"/usr/lib/python3.{sys.version_info.minor}/dist-packages"]


def main() -> int:
    try:
        import SoapySDR  # noqa: F401

        print("SoapySDR bindings: already importable")
        return 0
    except ImportError:
        pass
    tag = f"cpython-3{sys.version_info.minor}"
    for d in SYSTEM_DIRS:
        py = os.path.join(d, "SoapySDR.py")
        sos = glob.glob(os.path.join(d, f"_SoapySDR.{tag}*.so"))
        if os.path.exists(py) and sos:
            target = os.path.join(sys.prefix, "soapysdr_link")
            os.makedirs(target, exist_ok=True)
            for src in [py, *sos]:
                dst = os.path.join(target, os.path.basename(src))
                if not os.path.lexists(dst):
                    os.symlink(src, dst)
            with open(os.path.join(site.getsitepackages()[0], "soapysdr_link.pth"), "w") as f:
                f.write(target + "\n")
            print(f"SoapySDR bindings: linked from {d}")
            return 0
    print(
        "SoapySDR bindings not found: hardware radios are unavailable (loopback, ZeroMQ and SigMF work).\n"
        "  To enable them on Debian/Ubuntu: sudo apt-get install python3-soapysdr soapysdr-module-all\n"
        "  then run: make install (or .venv/bin/python tools/link_soapysdr.py)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
