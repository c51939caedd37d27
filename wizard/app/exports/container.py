"""`export --format container`: the recipe's app as a Containerfile and a compose file (tutorial 1.2).

Why these files and not a recording: a container platform runs images, not a provisioned server, so the export
says what the server steps say, in image terms: the same Debian, the same python3, the same requirements and the
same gunicorn command; static files collected while the image is built (nginx serves them from its own image);
migrations before gunicorn starts; PostgreSQL beside. Secrets only ever come from the environment when the
containers start, never from a build argument or a layer, so `podman history` and `podman inspect` of an
image show none. The files go in a directory inside the app's checkout (the build context is the checkout).
The steps that belong to a server (firewall, TLS, monitoring, OS updates) are the platform's: the header says
where each goes.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from wizard.app.exports.common import dump_yaml
from wizard.app.recipefile import Recipe
from wizard.engine.errors import DeployWizardError, ExitCode
from wizard.engine.i18n import _

BASE_IMAGE = "docker.io/library/debian:trixie"  # Debian 13, the sandbox's and the servers' default release
PORT = 8000
MIGRATE = {"django": "python manage.py migrate --noinput", "flask": "flask db upgrade",
           "alembic": "alembic upgrade head"}
SERVER_STEPS = {
    "os_updates": "the base image is rebuilt to update it",
    "deploy_user": "the app runs as its own user inside the image",
    "tls": "TLS ends at the platform's ingress or load balancer",
    "firewall": "the platform's network policy decides what reaches the containers",
    "monitoring": "the platform collects the containers' logs and metrics",
    "goals": "sizing is the platform's: replicas and limits per container",
    "environment": "",
}


class NotContainerisable(DeployWizardError):
    """A recipe the container export cannot write faithfully; each reason names the setting."""

    exit_code = ExitCode.BAD_INPUT


def _refusals(recipe: Recipe) -> list[str]:
    s = recipe.steps
    why = []
    if s.app_server is None:
        why.append(_("steps.app_server: the recipe runs no app (no gunicorn command to put in the image)"))
    if s.python is not None and s.python.version != "system":
        why.append(_("python.version: the image has Debian's python3; {v} is not in it").format(v=s.python.version))
    if s.code is not None and s.code.install in ("uv", "poetry"):
        why.append(_("code.install: {how}: the image installs with pip from requirements.txt or pyproject.toml only "
                     "so far").format(how=s.code.install))
    if s.code is not None and s.code.build:
        why.append(_("code.build: a front-end build is not in the container export yet"))
    if s.database is not None and s.database.engine != "postgresql":
        why.append(_("database.engine: {engine}: the compose file runs PostgreSQL only so far").format(
            engine=s.database.engine))
    if s.static is not None and s.static.collect == "command" and not s.static.collect_command:
        why.append(_("static.collect_command: empty"))
    return why


def _secret_var(ref: str, label: str) -> str:
    """The variable a secret is read from when the containers start (as the other exports name it)."""
    if ref.startswith("env:"):
        return ref[4:]
    return "DW_SECRET_" + re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")


def _paths(recipe: Recipe) -> dict[str, str]:
    base = f"/srv/{recipe.name}"
    return {"base": base, "code": f"{base}/current", "venv": f"{base}/venv", "static": f"{base}/shared/static",
            "media": f"{base}/shared/media", "home": f"{base}/shared/home"}


def _install(recipe: Recipe, p: dict[str, str]) -> list[str]:
    code = recipe.steps.code
    install = code.install if code is not None else "auto"
    requirements = (code.requirements if code is not None else "requirements.txt") or ""
    servers = " ".join(recipe.steps.python.server_packages if recipe.steps.python else ["gunicorn"])
    pip = f"{p['venv']}/bin/pip install --no-cache-dir"
    if install == "pyproject":
        return ["COPY . .", f"RUN {pip} . {servers}"]
    if install == "none" or not requirements:
        return [f"RUN {pip} {servers}", "COPY . ."]
    return [f"COPY {requirements} {requirements}", f"RUN {pip} -r {requirements} {servers}", "COPY . ."]


def _collect(recipe: Recipe, p: dict[str, str], placeholders: list[str]) -> str:
    static = recipe.steps.static
    if static is None or static.collect == "none":
        source = static.source_dir if static is not None else "static"
        return f"RUN mkdir -p {p['static']} && if [ -d {source} ]; then cp -a {source}/. {p['static']}/; fi"
    command = "python manage.py collectstatic --noinput" if static.collect == "django" else static.collect_command
    # the settings module may require its secrets at import: placeholders, only for this build step
    env = " ".join(f"{name}=collectstatic-placeholder" for name in placeholders)
    return f"RUN mkdir -p {p['static']} && {env} {command}".replace("  ", " ")


def _gunicorn(recipe: Recipe, p: dict[str, str]) -> list[str]:
    a = recipe.steps.app_server
    argv = [f"{p['venv']}/bin/gunicorn", "--bind", f"0.0.0.0:{PORT}", "--workers", str(a.workers or 3)]
    if a.worker_class == "uvicorn":
        argv += ["--worker-class", "uvicorn.workers.UvicornWorker"]
    return argv + ["--timeout", str(a.timeout), "--graceful-timeout", str(a.timeout), "--access-logfile", "-",
                   "--error-logfile", "-", a.module]


def _migrate(recipe: Recipe) -> str | None:
    db = recipe.steps.database
    if db is None or db.migrate == "none":
        return None
    return db.migrate_command if db.migrate == "command" else MIGRATE[db.migrate]


def containerfile(recipe: Recipe, folder: str) -> str:
    p = _paths(recipe)
    user = recipe.steps.deploy_user.name if recipe.steps.deploy_user else recipe.name
    env = dict(recipe.steps.app_server.env)
    secret_names = [*recipe.steps.app_server.secret_env, *(["DATABASE_URL"] if recipe.steps.database else [])]
    env_lines = [f"ENV {k}={json.dumps(v)}" for k, v in sorted(env.items())]
    start = json.dumps(_gunicorn(recipe, p))
    migrate = _migrate(recipe)
    # migrations before gunicorn, as on a server; tried again for a minute while the database starts beside it
    wait = (f'i=0; until {migrate}; do i=$((i+1)); [ "$i" -lt 30 ] || exit 1; '
            'echo "migrations: waiting for the database ($i)"; sleep 2; done; exec "$@"')
    cmd = json.dumps(["/bin/sh", "-c", wait, "migrate-then-serve", *_gunicorn(recipe, p)]) if migrate else start
    static_url = recipe.steps.static.static_url if recipe.steps.static else "/static/"
    return "\n".join([
        f"# deploy-wizard container export of the recipe {recipe.name}: build from the app's checkout, e.g.",
        f"#   podman build -f {folder}/Containerfile --target app .   (compose: see {folder}/compose.yaml)",
        "# No secret is in any layer: they come from the environment when the containers start.",
        f"FROM {BASE_IMAGE} AS base",
        "ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8",
        "",
        "FROM base AS app",
        "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates "
        "&& rm -rf /var/lib/apt/lists/*",
        f"RUN useradd --system --create-home --home-dir {p['home']} --shell /usr/sbin/nologin {user} "
        f"&& python3 -m venv {p['venv']}",
        f"WORKDIR {p['code']}",
        *_install(recipe, p),
        f"ENV PATH={p['venv']}/bin:/usr/sbin:/usr/bin:/sbin:/bin STATIC_ROOT={p['static']} MEDIA_ROOT={p['media']}",
        *env_lines,
        _collect(recipe, p, secret_names),
        f"RUN mkdir -p {p['media']} && chown {user}: {p['media']} && rm -rf {folder}",
        f"USER {user}",
        f"EXPOSE {PORT}",
        f"CMD {cmd}",
        "",
        "FROM base AS web",
        "RUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/* "
        "&& ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log "
        "&& rm -f /etc/nginx/sites-enabled/default",
        f"COPY --from=app {p['static']} {p['static']}",
        f"COPY {folder}/nginx.conf /etc/nginx/conf.d/{recipe.name}.conf",
        "EXPOSE 80",
        'CMD ["nginx", "-g", "daemon off;"]',
        "",
        "FROM base AS db",
        "RUN apt-get update && apt-get install -y --no-install-recommends postgresql && rm -rf /var/lib/apt/lists/*",
        f"COPY {folder}/db-init.sh /usr/local/bin/db-init",
        "USER postgres",
        "EXPOSE 5432",
        'CMD ["/bin/sh", "/usr/local/bin/db-init"]',
        f"# static files: {static_url} from the web image; uploads: the media volume",
    ]) + "\n"


def nginx_conf(recipe: Recipe) -> str:
    p = _paths(recipe)
    nginx, static = recipe.steps.nginx, recipe.steps.static
    names = " ".join(nginx.server_names) if nginx else "_"
    size = nginx.client_max_body_size if nginx else "10m"
    rate = nginx.rate_limit if nginx else 0
    static_url = static.static_url if static else "/static/"
    media = ([f"    location {static.media_url} {{", f"        alias {p['media']}/;", "    }"]
             if static and static.media else [])
    zone = f"{recipe.name}_req"
    limit = [f"limit_req_zone $binary_remote_addr zone={zone}:10m rate={rate}r/s;"] if rate else []
    limit_in = ([f"        limit_req zone={zone} burst={rate * 2} nodelay;", "        limit_req_status 429;"]
                if rate else [])
    return "\n".join([
        f"# deploy-wizard container export: nginx in front of {recipe.name} (the app service on port {PORT})",
        *limit,
        "server {",
        "    listen 80 default_server;",
        f"    server_name {names};",
        "    server_tokens off;",
        f"    client_max_body_size {size};",
        f"    location {static_url} {{", f"        alias {p['static']}/;", "        expires 7d;", "    }",
        *media,
        "    location / {",
        *limit_in,
        f"        proxy_pass http://app:{PORT};",
        "        proxy_set_header Host $host;",
        "        proxy_set_header X-Real-IP $remote_addr;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "    }",
        "}",
    ]) + "\n"


DB_INIT = """\
#!/bin/sh
# deploy-wizard container export: PostgreSQL for {app}. The first start creates the cluster, the role and the
# database; the password comes from the environment (DB_PASSWORD), never from the image.
set -eu
: "${{DB_PASSWORD:?DB_PASSWORD must be set when the container starts}}"
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
  "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  printf 'host all all 0.0.0.0/0 scram-sha-256\\nhost all all ::/0 scram-sha-256\\n' >> "$data/pg_hba.conf"
  "$bin/pg_ctl" -D "$data" -o "-c listen_addresses='' -k /tmp" -w start >/dev/null
  psql -h /tmp -v ON_ERROR_STOP=1 -v user="$DB_USER" -v db="$DB_NAME" -v pw="$DB_PASSWORD" -q <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
  "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -k /tmp
"""


def _db_names(recipe: Recipe) -> tuple[str, str]:
    db = recipe.steps.database
    name = db.name or recipe.name.replace("-", "_")
    return name, db.user or name


def compose(recipe: Recipe, folder: str) -> tuple[str, list[str]]:
    """The compose file and the variables it reads from the environment (the secrets)."""
    a, db = recipe.steps.app_server, recipe.steps.database
    needed: list[str] = []
    env: dict[str, str] = dict(a.env)
    for name, ref in a.secret_env.items():
        var = _secret_var(ref, f"app_server.secret_env.{name}")
        env[name] = f"${{{var}:?set {var}}}"
        needed.append(var)
    build = {"context": "..", "dockerfile": f"{folder}/Containerfile"}
    services: dict[str, Any] = {}
    if db is not None:
        name, user = _db_names(recipe)
        var = _secret_var(db.password, "database.password")
        needed.append(var)
        env["DATABASE_URL"] = f"postgresql://{user}:${{{var}:?set {var}}}@db:5432/{name}"
        services["db"] = {"build": build | {"target": "db"}, "image": f"{recipe.name}-db",
                          "environment": {"DB_NAME": name, "DB_USER": user, "DB_PASSWORD": f"${{{var}:?set {var}}}"},
                          "volumes": ["db:/var/lib/postgresql"]}
    services["app"] = {"build": build | {"target": "app"}, "image": f"{recipe.name}-app", "environment": env,
                       "volumes": [f"media:{_paths(recipe)['media']}"], "depends_on": ["db"] if db else []}
    services["web"] = {"build": build | {"target": "web"}, "image": f"{recipe.name}-web", "ports": ["8080:80"],
                       "volumes": [f"media:{_paths(recipe)['media']}:ro"], "depends_on": ["app"]}
    if not services["app"]["depends_on"]:
        del services["app"]["depends_on"]
    volumes = {"media": {}} | ({"db": {}} if db else {})
    header = "\n".join([
        f"# deploy-wizard container export of {recipe.name}: `docker compose up --build` (or podman-compose) here.",
        "# Secrets are read from the environment when the containers start: " + (", ".join(needed) or "none") + ".",
        *(f"# {step}: {why}" for step, why in SERVER_STEPS.items()
          if why and getattr(recipe.steps, step, None) is not None),
    ])
    return header + "\n" + dump_yaml({"services": services, "volumes": volumes}), needed


def container_files(recipe: Recipe, output: str) -> dict[str, str]:
    """{file name: text} of the export for a directory named `output` directly inside the app's checkout."""
    problems = _refusals(recipe)
    if problems:
        raise NotContainerisable(_("this recipe cannot be exported as containers:\n{why}").format(
            why="\n".join(f"  - {why}" for why in problems)))
    folder = PurePosixPath(output.rstrip("/") or ".").name
    if folder in ("", ".", ".."):
        raise NotContainerisable(_("-o names the directory to write, inside the app's checkout (e.g. -o deploy)"))
    files = {"Containerfile": containerfile(recipe, folder), "nginx.conf": nginx_conf(recipe)}
    files["compose.yaml"], _needed = compose(recipe, folder)
    if recipe.steps.database is not None:
        files["db-init.sh"] = DB_INIT.format(app=recipe.name)
    return files
