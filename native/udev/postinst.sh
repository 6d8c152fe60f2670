#!/bin/sh
# Installed by the .deb: put the SDR udev rules in place and reload them.
set -e
install -m 0644 "/opt/DeKA-g Testbed/resources/udev/53-dekag-sdr.rules" /etc/udev/rules.d/53-dekag-sdr.rules 2>/dev/null || true
udevadm control --reload-rules 2>/dev/null || true
udevadm trigger 2>/dev/null || true
