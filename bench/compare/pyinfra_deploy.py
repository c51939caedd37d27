"""examples/sandbox.yaml written as a pyinfra deploy, for bench/compare.py."""

from io import StringIO

from pyinfra.operations import apt, files, server

apt.update(name="refresh the package lists (cache window 1 h)", cache_time=3600, _sudo=True)
apt.upgrade(name="upgrade packages", _sudo=True)
apt.packages(name="base tools", packages=["curl", "git", "ca-certificates", "unattended-upgrades"],
             no_recommends=True, _sudo=True)
files.put(name="daily automatic security updates", dest="/etc/apt/apt.conf.d/20auto-upgrades", mode="644",
          src=StringIO('// Managed by deploy-wizard (step os_updates). Edit the recipe, not this file.\n'
                       '// Refresh the package lists and install security updates every day.\n'
                       'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'),
          _sudo=True)
files.link(name="time zone", path="/etc/localtime", target="/usr/share/zoneinfo/Asia/Shanghai", _sudo=True)
files.put(name="time zone file", dest="/etc/timezone", src=StringIO("Asia/Shanghai\n"), _sudo=True)
server.hostname(name="host name", hostname="demo.example.test", _sudo=True)
files.line(name="host name in /etc/hosts", path="/etc/hosts", line=r"^127\.0\.1\.1.*",
           replace="127.0.1.1\tdemo.example.test demo", _sudo=True)
server.user(name="deploy user", user="deploy", system=True, home="/home/deploy", shell="/bin/bash",
            ensure_home=True,
            public_keys=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDW2nbmTd6oIpANV9xe0MjR2Yg7oh0fBdz6E+q2XkSvj "
                         "ops@example.test"],
            _sudo=True)
