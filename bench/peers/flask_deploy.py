"""examples/flask-app.yaml written as a pyinfra user writes it: operations, with facts or `_if` guarding the
shell commands, for bench/compare_full.py. Not deploy-wizard's export. The files it uploads are the files
deploy-wizard writes (snapshots/config/, passed as files_dir), so the end state can be compared file for file.
Proven end to end on fresh sandboxes (2026-12-04, one round of bench/compare_full.py): the page answers over
HTTPS and a no-op reports 0 changes. As deploy-wizard's switch does, the socket gets a drop-in naming the live
release (Service=): without it systemd refuses demo.socket ("Socket service demo.service not loaded").
Data (--data): repo, release (12-hex commit), commit, acme_server, db_password, db_owner_password, files_dir.
"""

from io import StringIO
from urllib.parse import quote

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.postgres import PostgresRoles
from pyinfra.facts.server import Command
from pyinfra.operations import apt, files, git, pip, postgres, server, systemd
from pyinfra.operations.util import any_changed

D = host.data
FILES = D.files_dir
ROOT, VENV, DOMAIN = "/srv/demo", "/srv/demo/venv", "demo.example.test"
RELEASE = f"{ROOT}/releases/{D.release}"
CERT = f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem"
HOME_ENV = {"HOME": f"{ROOT}/shared/home"}
SU = {"_sudo": True}
AS_APP = {"_sudo": True, "_sudo_user": "demo", "_env": HOME_ENV, "_chdir": "/"}
AS_PG = {"_sudo": True, "_sudo_user": "postgres", "_chdir": "/"}

# --- os_updates
apt.update(name="refresh the package lists (cache window 1 h)", cache_time=3600, **SU)
apt.upgrade(name="upgrade packages", **SU)
apt.packages(name="base tools", packages=["curl", "git", "ca-certificates"], no_recommends=True, **SU)
server.timezone(name="time zone", timezone="Asia/Shanghai", **SU)
server.hostname(name="host name", hostname=DOMAIN, **SU)
files.line(name="host name in /etc/hosts", path="/etc/hosts", line=r"^127\.0\.1\.1.*",
           replace=f"127.0.1.1\t{DOMAIN} demo", **SU)
# --- deploy_user
server.user(name="the app's user", user="demo", system=True, home="/home/demo", shell="/usr/sbin/nologin",
            create_home=True, **SU)
# --- python
apt.packages(name="python and venv", packages=["python3", "python3-venv", "python3-dev"], no_recommends=True, **SU)
for path, mode, owner, group in ((ROOT, "755", "root", "root"), (f"{ROOT}/releases", "755", "demo", "demo"),
                                 (f"{ROOT}/shared", "755", "root", "root"),
                                 (f"{ROOT}/shared/env", "750", "root", "demo"),
                                 (f"{ROOT}/shared/state", "755", "demo", "demo"),
                                 (f"{ROOT}/shared/home", "750", "demo", "demo"), (VENV, "755", "demo", "demo"),
                                 (f"{ROOT}/shared/media", "755", "demo", "demo")):
    files.directory(name=f"directory {path}", path=path, mode=mode, user=owner, group=group, **SU)
pip.venv(name="the venv", path=VENV, python="/usr/bin/python3", **AS_APP)
pip.packages(name="gunicorn in the venv", packages=["gunicorn"], pip=f"{VENV}/bin/pip", **AS_APP)
# --- code
clone = git.repo(name="clone the release", src=D.repo, dest=RELEASE, branch="main", pull=False, **AS_APP)
files.put(name="the app's settings", src=f"{FILES}/app_server/srv/demo/shared/env/app.env",
          dest=f"{ROOT}/shared/env/app.env", mode="640", user="root", group="demo", **SU)
pip.packages(name="requirements", requirements=f"{RELEASE}/requirements.txt", pip=f"{VENV}/bin/pip",
             _if=clone.did_change, **AS_APP)
# --- database
apt.packages(name="PostgreSQL", packages=["postgresql"], **SU)
# postgres.role sends ALTER ROLE … PASSWORD on every run when given a password: set it when the role is made
roles = host.get_fact(PostgresRoles, **AS_PG)
postgres.role(name="the app's role", role="demo", password=None if "demo" in roles else D.db_password, login=True,
              **AS_PG)
owner = postgres.role(name="the owner role", role="demo_owner", login=True, **AS_PG,
                      password=None if "demo_owner" in roles else D.db_owner_password)
files.put(name="the owner's DATABASE_URL, for root only", dest=f"{ROOT}/shared/env/database-owner.env", mode="600",
          src=StringIO(f"DATABASE_URL=postgresql://demo_owner:{D.db_owner_password}@127.0.0.1:5432/demo\n"), **SU)
db = postgres.database(name="the database", database="demo", owner="demo_owner", **AS_PG)
postgres.sql(name="the app's rights", psql_database="demo", _if=any_changed(owner, db), **AS_PG, sql=(
    "revoke create on schema public from public; grant usage on schema public to demo; "
    "grant select, insert, update, delete on all tables in schema public to demo; "
    "grant usage, select, update on all sequences in schema public to demo; "
    "alter default privileges for role demo_owner in schema public grant select, insert, update, delete on tables "
    "to demo; alter default privileges for role demo_owner in schema public grant usage, select, update on "
    "sequences to demo;"))
files.put(name="the app's DATABASE_URL", dest=f"{ROOT}/shared/env/database.env", mode="640", user="root",
          group="demo", **SU, src=StringIO("# Managed by deploy-wizard (step database).\n"
                                           f"DATABASE_URL=postgresql://demo:{quote(D.db_password, safe='')}"
                                           "@127.0.0.1:5432/demo\n"))
migrated = host.get_fact(Command, f"cat {ROOT}/shared/state/migrated 2>/dev/null || true", **SU)
if (migrated or "").strip() != D.release:
    server.shell(name="migrate", **SU, commands=[
        f"cd {RELEASE} && set -a && . {ROOT}/shared/env/app.env && . {ROOT}/shared/env/database-owner.env && set +a "
        f"&& runuser -u demo -- {VENV}/bin/python migrate.py && echo {D.release} > {ROOT}/shared/state/migrated"])
# --- app_server
units = [files.put(name=f"unit {unit}", src=f"{FILES}/app_server/etc/systemd/system/{unit}",
                   dest=f"/etc/systemd/system/{unit}", mode="644", **SU) for unit in ("demo.socket", "demo@.service")]
# demo.socket names no service of its own (demo.service does not exist: one unit per release), so systemd
# refuses to start it ("a dependency job failed") until a drop-in says which release it starts
units.append(files.put(name="the socket starts the live release", dest="/etc/systemd/system/demo.socket.d/live.conf",
                       src=StringIO(f"[Socket]\nService=demo@{D.release}.service\n"), mode="644", **SU))
systemd.daemon_reload(name="systemd reads the units", _if=any_changed(*units), **SU)
systemd.service(name="the socket", service="demo.socket", running=None, enabled=True, **SU)  # the release starts it
files.link(name="current release", path=f"{ROOT}/current", target=f"releases/{D.release}", **SU)
systemd.service(name="start the release, and at boot", service=f"demo@{D.release}.service", running=True,
                enabled=True, **SU)
# --- nginx
apt.packages(name="nginx", packages=["nginx"], **SU)
for log in ("demo.access.log", "demo.error.log"):
    files.file(name=f"log {log}", path=f"/var/log/nginx/{log}", mode="640", user="www-data", group="adm", **SU)
files.directory(name="the ACME challenge directory", path="/var/www/letsencrypt", mode="755", **SU)
have_cert = host.get_fact(File, path=CERT, **SU) is not None  # False: it is there, as certbot's link
site = [files.put(name="the site (HTTP only until the certificate exists)", dest="/etc/nginx/sites-available/demo",
                  src=f"{FILES}/{'tls' if have_cert else 'nginx'}/etc/nginx/sites-available/demo", mode="644", **SU),
        files.put(name="catch-all site", src=f"{FILES}/nginx/etc/nginx/sites-available/00-default-deny",
                  dest="/etc/nginx/sites-available/00-default-deny", mode="644", **SU)]
site += [files.link(name=f"enable {name}", path=f"/etc/nginx/sites-enabled/{name}",
                    target=f"/etc/nginx/sites-available/{name}", **SU) for name in ("demo", "00-default-deny")]
site.append(files.link(name="no default site", path="/etc/nginx/sites-enabled/default", present=False, **SU))
server.shell(name="reload nginx", commands=["nginx -t && systemctl reload nginx"], _if=any_changed(*site), **SU)
# --- tls
apt.packages(name="certbot", packages=["certbot"], **SU)
if not have_cert:
    server.shell(name="the certificate", _env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}, **SU,
                 commands=[f"certbot certonly --webroot -w /var/www/letsencrypt --non-interactive --agree-tos "
                           f"--email ops@example.test --no-eff-email --keep-until-expiring --cert-name {DOMAIN} "
                           f"--server {D.acme_server} -d {DOMAIN}"])
files.put(name="reload nginx on renewal", src=f"{FILES}/tls/etc/letsencrypt/renewal-hooks/deploy/"
          "50-deploy-wizard-reload-nginx", dest="/etc/letsencrypt/renewal-hooks/deploy/50-deploy-wizard-reload-nginx",
          mode="755", **SU)
systemd.service(name="renewals", service="certbot.timer", running=True, enabled=True, **SU)
https = files.put(name="the HTTPS site", src=f"{FILES}/tls/etc/nginx/sites-available/demo",
                  dest="/etc/nginx/sites-available/demo", mode="644", **SU)
server.shell(name="reload nginx for HTTPS", commands=["nginx -t && systemctl reload nginx"], _if=https.did_change,
             **SU)
# --- firewall
apt.packages(name="ufw", packages=["ufw"], **SU)
status = host.get_fact(Command, "ufw status 2>/dev/null || true", **SU) or ""
for port in ("22", "80", "443"):
    if f"{port}/tcp" not in status:
        server.shell(name=f"allow {port}/tcp", commands=[f"ufw allow {port}/tcp"], **SU)
if "Status: active" not in status:
    server.shell(name="firewall on", commands=["ufw --force enable"], **SU)
# --- monitoring
apt.packages(name="node exporter, logrotate, curl", packages=["prometheus-node-exporter", "logrotate", "curl"],
             no_recommends=True, **SU)
exporter = files.put(name="node exporter on localhost only",
                     src=f"{FILES}/monitoring/etc/default/prometheus-node-exporter",
                     dest="/etc/default/prometheus-node-exporter", mode="644", **SU)
systemd.service(name="restart node exporter", service="prometheus-node-exporter", restarted=True,
                _if=exporter.did_change, **SU)
journald = files.put(name="journald size",
                     src=f"{FILES}/monitoring/etc/systemd/journald.conf.d/50-deploy-wizard.conf",
                     dest="/etc/systemd/journald.conf.d/50-deploy-wizard.conf", mode="644", **SU)
systemd.service(name="restart journald", service="systemd-journald", restarted=True, _if=journald.did_change, **SU)
files.put(name="rotate the app's logs", src=f"{FILES}/monitoring/etc/logrotate.d/demo", dest="/etc/logrotate.d/demo",
          mode="644", **SU)
health = [files.put(name=f"unit {unit}", src=f"{FILES}/monitoring/etc/systemd/system/{unit}",
                    dest=f"/etc/systemd/system/{unit}", mode="644", **SU) for unit in ("demo-health.service",
                                                                                     "demo-health.timer")]
systemd.daemon_reload(name="systemd reads the health units", _if=any_changed(*health), **SU)
systemd.service(name="health check timer", service="demo-health.timer", running=True, enabled=True, **SU)
