"""Shared by tests/live/test_learn.py and bench/learn_drills.py: each drill with what a user sees when it is broken
and once fixed, and a fix by hand (never `apply`), on the course's practice server."""

from __future__ import annotations

import subprocess

from wizard.lab import sandbox


def shell(name: str, script: str) -> str:
    done = subprocess.run(sandbox.ssh_command(name, "root", [script]), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def status(name: str, script: str, timeout: int = 120) -> int:
    return subprocess.run(sandbox.ssh_command(name, "root", [script]), capture_output=True, text=True,
                          timeout=timeout).returncode


def curl(name: str, path: str) -> str:
    """The site's answer on the server itself, by name over HTTPS (the lab's CA is trusted there)."""
    return shell(name, "curl -s -o /dev/null -w '%{http_code}' -m 10 --resolve demo.example.test:443:127.0.0.1 "
                       f"https://demo.example.test{path} || true").strip()


def https_from_outside(name: str) -> str:
    """From this machine, as a visitor: the site's answer over HTTPS, checked against the lab's CA (a bare TCP
    connect proves nothing here: this machine's own traffic to port 443 may be intercepted on its way out)."""
    info = next(s for s in sandbox.list_sandboxes() if s.name == name)
    lab = sandbox.practice.load(sandbox.lab_dir(name))
    assert lab is not None
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "--cacert",
                           str(lab.ca_file), "--resolve", f"demo.example.test:443:{info.ip}",
                           "https://demo.example.test/health"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


DRILL_CASES = [  # (drill, what a user sees broken, then fixed, the fix by hand: never apply)
    ("nginx-stopped", lambda n: curl(n, "/health"), "000", "200", "systemctl start nginx"),
    ("static-403", lambda n: curl(n, "/static/style.css"), "403", "200", "chmod o+x /srv/demo"),
    ("socket-missing", lambda n: curl(n, "/health"), "502", "200",
     "systemctl start demo.socket && systemctl start \"demo@$(basename \"$(readlink /srv/demo/current)\").service\""),
    ("firewall-443", https_from_outside, "000", "200", "ufw allow 443/tcp"),
    ("cert-expiring", lambda n: shell(n, "openssl x509 -checkend 864000 -noout -in /etc/letsencrypt/live/"
                                         "demo.example.test/cert.pem >/dev/null && echo long || echo short").strip(),
     "short", "long", "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt certbot renew -q "
                      "--no-random-sleep-on-renew"),
    ("nginx-syntax", lambda n: status(n, "nginx -t -q"), 1, 0,
     "sed -i 's/server_nmae/server_name/' /etc/nginx/sites-available/demo && nginx -t -q && systemctl reload nginx"),
    ("db-password", lambda n: status(n, "set -a; . /srv/demo/shared/env/database.env; "
                                        "runuser -u demo -- psql \"$DATABASE_URL\" -tAc 'select 1'"), 2, 0,
     "pw=$(sed -n 's|^DATABASE_URL=postgresql://[^:]*:\\([^@]*\\)@.*|\\1|p' /srv/demo/shared/env/database.env) && "
     "printf '%s\\n' \"alter role demo password :'p';\" | runuser -u postgres -- psql -q -v p=\"$pw\""),
    ("disk-full", lambda n: shell(n, "df -P /var/log/demo | awk 'NR == 2 {print ($5 + 0 > 90) ? \"full\" : \"room\"}'")
     .strip(), "full", "room", "du -xsh /var/log/demo/* && rm /var/log/demo/debug.log"),
]
