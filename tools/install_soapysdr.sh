#!/usr/bin/env bash
# Installs Debian's SoapySDR Python bindings (python3-soapysdr, soapysdr-tools) when this machine can:
# running as root, apt-get available, and the package not installed yet. Quiet; never fails the build.
# Otherwise it prints the command to run. Hardware modules (UHD, LimeSuite, bladeRF ...) are separate
# packages: soapysdr-module-uhd, soapysdr-module-lms7, soapysdr-module-bladerf, or soapysdr-module-all.
# Called by the Makefile before tools/link_soapysdr.py links the bindings into .venv.

PKGS="python3-soapysdr soapysdr-tools"

if dpkg-query -W -f='${Status}' python3-soapysdr 2>/dev/null | grep -q "install ok installed"; then
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "SoapySDR: installing $PKGS with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y -qq --no-install-recommends $PKGS >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 \
             && apt-get install -y -qq --no-install-recommends $PKGS >/dev/null 2>&1; }; then
        echo "SoapySDR: installed"
    else
        echo "SoapySDR: apt-get could not install $PKGS; hardware radios stay unavailable"
        echo "  (loopback, ZeroMQ and SigMF radios work without it)"
    fi
    exit 0
fi

echo "SoapySDR Python bindings are not installed: hardware radios are unavailable"
echo "  (loopback, ZeroMQ and SigMF radios work without them). To enable them:"
echo "    sudo apt-get install python3-soapysdr soapysdr-tools soapysdr-module-all"
echo "    .venv/bin/python tools/link_soapysdr.py"
exit 0
