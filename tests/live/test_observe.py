"""Issue 20 live, on one sandbox and one apply: deploys from CI (5.3), logs read from here (5.1), the app's
metrics and alerts (5.2).

The app (tests/live/projects/observe) answers with the release that served it, fails /boom on purpose (logging
its DATABASE_URL, password included) and is slow on /slow. After one apply of the whole recipe, the tests run
`deploy-wizard deploy` exactly as examples/ci/ runs it, and `deploy-wizard logs` as an operator would.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.live.conftest import cli, events, finished, on_box, write_recipe
from tests.live.observing import ALERT_TO, HOST, SINK, listening_on, mails, promql_api, steps
from tests.live.services import git, git_daemon, make_repo
from wizard.lab import sandbox

PROJECT = Path(__file__).parent / "projects" / "observe"
DB_PASSWORD = "0bserve-Pw-k3"  # noqa: S105  (a test password for a throwaway server)
SMTP_PASSWORD = "r3lay-Pw-9q"  # noqa: S105  (the mail sink's password, checked by the sink)
SECRET_ENV = {"OBSERVE_DB_PASSWORD": DB_PASSWORD, "OBSERVE_SMTP_PASSWORD": SMTP_PASSWORD}


@pytest.fixture(scope="module")
def release() -> sandbox.Release:
    """Debian 13 in CI; DEPLOY_WIZARD_OBSERVE_RELEASE=bookworm runs the whole module on Debian 12."""
    wanted = os.environ.get("DEPLOY_WIZARD_OBSERVE_RELEASE", sandbox.DEFAULT_RELEASE)
    assert wanted in sandbox.RELEASES, f"DEPLOY_WIZARD_OBSERVE_RELEASE: {wanted} is not one of {sandbox.RELEASES}"
    return wanted  # type: ignore[return-value]


@pytest.fixture(scope="module")
def lab(box, live_dirs):
    work, bare = make_repo(live_dirs / "git", "observe", PROJECT)
    with git_daemon(bare.parent, box.host_ip) as git_url:
        recipe = write_recipe(live_dirs / "observe.yaml", box, steps(git_url))
        yield {"work": work, "bare": bare, "recipe": recipe, "git_url": git_url}


@pytest.fixture(scope="module")
def first(box, live_dirs, lab, release):
    codename = on_box(box, ". /etc/os-release && echo $VERSION_CODENAME").stdout.strip()
    assert codename == release, (codename, release)  # DEPLOY_WIZARD_OBSERVE_RELEASE did choose the server
    result = cli(live_dirs, "apply", str(lab["recipe"]), "--yes", "--json", env=SECRET_ENV, timeout=1500)
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-2000:])
    return result


def push(lab, name: str, text: str) -> str:
    (lab["work"] / name).write_text(text)
    git("add", "-A", cwd=lab["work"])
    git("commit", "-q", "-m", f"change {name}", cwd=lab["work"])
    git("push", "-q", str(lab["bare"]), "main", cwd=lab["work"])
    return git("rev-parse", "HEAD", cwd=lab["work"])


def page(box, path: str = "/") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "-H", f"Host: {HOST}", f"http://{box.ip}{path}"], capture_output=True,
                          text=True, timeout=30)


def deploy(live_dirs, lab, ref: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line of examples/ci/github-actions.yml, with --json to read what ran."""
    return cli(live_dirs, "deploy", str(lab["recipe"]), "--ref", ref, "--lock-wait", "600", "--json",
               env=SECRET_ENV if env is None else env, timeout=900)


def test_deploy_ships_a_branch_through_the_release_steps_only(box, live_dirs, lab, first) -> None:
    nginx_site = on_box(box, "sha256sum /etc/nginx/sites-available/live").stdout
    commit = push(lab, "message.txt", "second release\n")
    result = deploy(live_dirs, lab, "main")
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-2000:])
    started = [e for e in events(result) if e["event"] == "run_started"][0]
    assert started["steps"] == ["code", "database", "app_server"]  # not os_updates, python, nginx
    assert page(box).stdout.strip() == commit[:12]  # through nginx: the new release serves
    rows = on_box(box, "sudo -u postgres psql -tAc 'select release from migrated order by at' live").stdout.split()
    assert rows[-1] == commit[:12], rows  # its migration ran
    assert on_box(box, "sha256sum /etc/nginx/sites-available/live").stdout == nginx_site
    again = deploy(live_dirs, lab, commit)  # the same commit, as CI passes $GITHUB_SHA: nothing to do
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


def test_deploy_refuses_a_ref_that_names_nothing_and_a_missing_secret(box, live_dirs, lab, first) -> None:
    live = on_box(box, "readlink /srv/live/current").stdout
    missing = deploy(live_dirs, lab, "no-such-branch")
    assert missing.returncode == 2, (missing.stdout[-2000:], missing.stderr[-2000:])
    assert "--ref no-such-branch" in missing.stderr and "no branch or tag named no-such-branch" in missing.stderr
    no_secret = deploy(live_dirs, lab, "main", env={})
    assert no_secret.returncode == 2, (no_secret.stdout[-2000:], no_secret.stderr[-2000:])
    assert "OBSERVE_DB_PASSWORD" in no_secret.stderr
    bad = deploy(live_dirs, lab, "bad;ref")
    assert bad.returncode == 2 and "code.ref" in bad.stderr, bad.stderr
    assert on_box(box, "readlink /srv/live/current").stdout == live


def logs(live_dirs, lab, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli(live_dirs, "logs", str(lab["recipe"]), *args, env=SECRET_ENV if env is None else env, timeout=120)


def test_a_second_apply_changes_nothing(live_dirs, lab, first) -> None:
    again = cli(live_dirs, "apply", str(lab["recipe"]), "--yes", "--json", env=SECRET_ENV, timeout=900)
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


def test_logs_of_the_app_and_nginx_are_read_from_here_with_secrets_masked(box, live_dirs, lab, first) -> None:
    assert page(box, "/boom").stdout == "boom\n"
    assert page(box, "/slow").stdout.strip()
    app = logs(live_dirs, lab, "--grep", "failing on purpose")
    assert app.returncode == 0, app.stderr
    assert "boom: failing on purpose, connected with postgresql://" in app.stdout, app.stdout[-2000:]
    assert DB_PASSWORD not in app.stdout and "***" in app.stdout
    nginx = logs(live_dirs, lab, "--service", "nginx", "--since", "10m", "--grep", "GET /(boom|slow)")
    assert nginx.returncode == 0, nginx.stderr
    boom = [line for line in nginx.stdout.splitlines() if "GET /boom" in line]
    slow = [line for line in nginx.stdout.splitlines() if "GET /slow" in line]
    assert boom and '" 500 ' in boom[-1] and " rt=" in boom[-1] and " urt=" in boom[-1], nginx.stdout[-2000:]
    assert slow and float(slow[-1].split(" rt=")[1].split()[0]) >= 0.4, slow  # the app's 0.4 s, as nginx timed it
    mode = on_box(box, "stat -c '%a %U %G' /var/log/nginx/live.access.log").stdout.split()
    assert mode == ["640", "www-data", "adm"], mode
    db = logs(live_dirs, lab, "--service", "db", "-n", "5")
    assert db.returncode == 0 and db.stdout.strip(), db.stderr  # PostgreSQL's own log file, read with sudo
    system = logs(live_dirs, lab, "--service", "system", "--since", "30m", "--grep", "live@")
    assert system.returncode == 0 and "live@" in system.stdout, system.stderr
    bad = logs(live_dirs, lab, "--service", "mail")
    assert bad.returncode == 2 and "--service: 'mail' is not a service" in bad.stderr


def test_logs_follow_shows_a_request_as_it_happens(box, live_dirs, lab, first) -> None:
    command = [sys.executable, "-m", "wizard", "logs", str(lab["recipe"]), "--service", "nginx", "-f", "-n", "0",
               "--grep", "GET /followed"]
    env = {**os.environ, "XDG_CONFIG_HOME": str(live_dirs / "config"), "XDG_STATE_HOME": str(live_dirs / "state"),
           "DEPLOY_WIZARD_LANG": "en", **SECRET_ENV}
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env=env, stdin=subprocess.DEVNULL)
    try:
        seen = ""
        for _attempt in range(30):  # the follower connects first; ask again until its line arrives
            page(box, "/followed")
            ready, _w, _x = select.select([follower.stdout], [], [], 1.0)
            if ready:
                seen = follower.stdout.readline()
                break
        assert "GET /followed" in seen and " 200 " in seen, seen
    finally:
        follower.terminate()
        follower.wait(10)


DASHBOARD = ROOT / "recipes" / "monitoring" / "dashboards" / "deploy-wizard.json"
RULES = ROOT / "snapshots" / "config" / "monitoring" / "etc" / "prometheus" / "deploy-wizard-rules.yml"
# queries that have no data on this sandbox, and why (asserted to be the only empty ones)
NO_DATA_HERE = {
    "probe_ssl_earliest_cert_expiry": "the test site is plain HTTP: no certificate to measure",
    "node_filesystem_avail_bytes": "the sandbox's root is overlayfs, which the node exporter leaves out",
}
N_OK, K_ERRORS, M_SLOW = 60, 6, 10


def promql(box, query: str) -> list[dict]:
    """One instant query to the sandbox's Prometheus (127.0.0.1:9090, asked on the server)."""
    import json
    import shlex

    answer = on_box(box, "curl -fsS http://127.0.0.1:9090/api/v1/query --data-urlencode " + shlex.quote(
        f"query={query}"))
    assert answer.returncode == 0, (query, answer.stderr)
    body = json.loads(answer.stdout)
    assert body["status"] == "success", body
    return body["data"]["result"]


def value(box, query: str) -> float:
    result = promql(box, query)
    assert len(result) == 1, (query, result)
    return float(result[0]["value"][1])


def counted(box) -> dict[str, float]:
    return {r["metric"]["status"]: float(r["value"][1])
            for r in promql(box, 'deploy_wizard_http_requests_total{app="live"}')}


def scraped_after(box, seen: float) -> None:
    """Wait until Prometheus has scraped mtail after `seen` (its scrape interval is 15 s)."""
    for _attempt in range(60):
        last = promql(box, 'timestamp(deploy_wizard_http_requests_total{app="live",status="200"})')
        if last and float(last[0]["value"][1]) > seen:
            return
        time.sleep(1)
    raise AssertionError("Prometheus never scraped mtail after the traffic")


def alert_expressions() -> list[str]:
    import yaml

    return [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def without_threshold(expr: str) -> str:
    """The measured part of an alert expression (what must return data; the comparison decides the alert)."""
    for op in (" == ", " > ", " < "):
        if op in expr:
            return expr.rsplit(op, 1)[0]
    return expr


def test_every_exporter_listens_on_localhost_only(box, first) -> None:
    listening = on_box(box, "ss -ltnH").stdout.split("\n")
    for port in ("9100", "3903", "9115", "9090", "9093"):
        local = [line.split()[3] for line in listening if line.split() and line.split()[3].endswith(f":{port}")]
        assert local, (port, listening)
        assert all(address.startswith(("127.0.0.1:", "[::1]:")) for address in local), (port, local)
    assert not [line for line in listening if line.split() and line.split()[3].endswith(":9094")], listening


def test_known_traffic_is_measured_and_every_query_has_data(box, first) -> None:
    import json

    page(box, "/")  # mtail's counters exist from the first line on
    scraped_after(box, time.time() + 1)  # Prometheus has what mtail counted so far
    before = counted(box)
    start = time.time()
    for _ in range(N_OK):
        assert page(box, "/").returncode == 0
    for _ in range(K_ERRORS):
        assert page(box, "/boom").stdout == "boom\n"
    for _ in range(M_SLOW):
        page(box, "/slow")
    scraped_after(box, time.time() + 1)  # a scrape after the last request (and mtail's reading of it)
    after = counted(box)
    errors = after.get("500", 0) - before.get("500", 0)
    total = sum(after.values()) - sum(before.values())
    assert errors == K_ERRORS, (before, after)
    # the blackbox exporter's probes of /health (every 15 s) are requests too: a few more than ours, never fewer
    assert N_OK + K_ERRORS + M_SLOW <= total <= N_OK + K_ERRORS + M_SLOW + 10, (before, after)
    window = f"{int(time.time() - start) + 20}s"
    ratio = value(box, f'sum(increase(deploy_wizard_http_requests_total{{app="live",status=~"5.."}}[{window}])) / '
                       f'sum(increase(deploy_wizard_http_requests_total{{app="live"}}[{window}]))')
    assert abs(ratio - K_ERRORS / total) < 0.03, (ratio, K_ERRORS / total)
    p95 = value(box, f'histogram_quantile(0.95, sum by (le) (increase('
                     f'deploy_wizard_http_request_duration_seconds_bucket{{app="live"}}[{window}])))')
    assert 0.25 <= p95 <= 0.5, p95  # 10 of 76 requests took 0.4 s: the 95th percentile is in their bucket
    rate = value(box, 'sum(rate(deploy_wizard_http_requests_total{app="live"}[5m]))')
    assert rate > 0
    queries = [panel["targets"][0]["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"]]
    queries += [without_threshold(expr) for expr in alert_expressions()]
    empty = [query for query in queries if not promql(box, query)]
    assert all(any(metric in query for metric in NO_DATA_HERE) for query in empty), empty
    print(f"traffic {total:.0f} requests, {errors:.0f} errors; ratio {ratio:.3f}; p95 {p95:.3f} s; "
          f"{len(queries) - len(empty)} of {len(queries)} queries with data (no data here: {NO_DATA_HERE})")


def test_an_alert_is_mailed_through_the_relay_with_its_password(box, live_dirs, lab, first) -> None:
    """Alertmanager (Prometheus lists it, apply's verify check) mails an alert through the relay, logging in
    with the password from the secret reference; the password is in its own file, never in alertmanager.yml
    nor in apply's output."""
    on_box(box, "cat > /root/sink.py", stdin=SINK)
    started = on_box(box, f"systemd-run --unit smtp-sink python3 /root/sink.py {SMTP_PASSWORD} && "
                          "for i in $(seq 50); do ss -ltnH | grep -q 127.0.0.1:2525 && exit 0; sleep 0.2; done; "
                          "journalctl -u smtp-sink --no-pager -n 20; exit 1")
    assert started.returncode == 0, started.stdout + started.stderr
    assert SMTP_PASSWORD not in first.stdout + first.stderr
    config = on_box(box, "cat /etc/prometheus/alertmanager.yml").stdout
    assert SMTP_PASSWORD not in config and "smtp_auth_password_file" in config, config
    assert on_box(box, "stat -c '%a %U %G' /etc/prometheus/alertmanager-smtp-password").stdout.split() == [
        "640", "root", "prometheus"]
    managers = promql_api(box, "alertmanagers")["activeAlertmanagers"]
    assert [m["url"] for m in managers] == ["http://127.0.0.1:9093/api/v2/alerts"], managers
    alert = ('[{"labels": {"alertname": "DeployWizardMailTest", "app": "live", "severity": "test"}, '
             '"annotations": {"summary": "sent by the live test"}}]')
    posted = on_box(box, "curl -fsS -XPOST -H 'Content-Type: application/json' --data-binary @- "
                         "http://127.0.0.1:9093/api/v2/alerts", stdin=alert)
    assert posted.returncode == 0, posted.stderr
    for _attempt in range(60):  # group_wait is 10 s
        kept = [mail for mail in mails(box) if "DeployWizardMailTest" in mail]
        if kept:
            break
        time.sleep(1)
    else:
        raise AssertionError(on_box(box, "journalctl -u prometheus-alertmanager -n 30 --no-pager").stdout)
    mail = kept[0]
    # the sink's authenticator (observing.py) accepts only alerts with SMTP_PASSWORD and records the login only
    # then: a mail whose first line is the login was sent by Alertmanager with the right password
    assert mail.startswith("alerts\n"), mail[:300]
    assert f"X-Sink-To: {ALERT_TO}" in mail and f"To: {ALERT_TO}" in mail, mail[:600]
    assert "Subject: [FIRING:1] DeployWizardMailTest" in mail, mail[:600]


def test_a_central_prometheus_reaches_the_exporters_and_nothing_else_does(box, live_dirs, lab, first) -> None:
    """central_prometheus: this machine plays the central Prometheus. The exporters move to every address, ufw
    lets this machine's address in and drops another address of this same machine; the scrape config written for
    it names the server by its address and promtool accepts it; a re-apply changes nothing."""
    recipe = write_recipe(live_dirs / "observe-central.yaml", box, steps(lab["git_url"], box.host_ip))
    applied = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=SECRET_ENV, timeout=900)
    assert applied.returncode == 0, (applied.stdout[-4000:], applied.stderr[-2000:])
    for port in ("9100", "3903", "9115"):
        assert listening_on(box, port) and all(a.startswith(("0.0.0.0:", "*:", "[::]:")) for a in listening_on(
            box, port)), (port, listening_on(box, port))
    for port in ("9090", "9093"):  # Prometheus and Alertmanager stay private
        assert all(a.startswith("127.0.0.1:") for a in listening_on(box, port)), (port, listening_on(box, port))
    config = on_box(box, "cat /etc/prometheus/central-scrape.yml").stdout
    assert f'targets: ["{box.ip}:9100"]' in config and f"replacement: {box.ip}:9115" in config, config
    assert on_box(box, "promtool check config /etc/prometheus/central-scrape.yml").returncode == 0
    metrics = subprocess.run(["curl", "-fsS", "-m", "5", f"http://{box.ip}:9100/metrics"], capture_output=True,
                             text=True, timeout=30)
    assert "node_exporter_build_info" in metrics.stdout, metrics.stderr
    probe = subprocess.run(["curl", "-fsS", "-m", "10", f"http://{box.ip}:9115/probe?module=live_health&target="
                            "http://127.0.0.1/health"], capture_output=True, text=True, timeout=30)
    assert "probe_success 1" in probe.stdout, (probe.stdout[-1000:], probe.stderr)
    other, link = box.host_ip.rsplit(".", 1)[0] + ".3", f"ve-{box.name}"
    subprocess.run(["ip", "addr", "add", f"{other}/32", "dev", link], check=True, capture_output=True)
    try:
        web = subprocess.run(["curl", "-sS", "-m", "5", "--interface", other, "-H", f"Host: {HOST}",
                              f"http://{box.ip}/health"], capture_output=True, text=True, timeout=30)
        assert web.returncode == 0, web.stderr  # that address does reach the server: the web port is open to all
        blocked = subprocess.run(["curl", "-sS", "-m", "4", "--interface", other, f"http://{box.ip}:9100/metrics"],
                                 capture_output=True, text=True, timeout=30)
        assert blocked.returncode == 28, (blocked.returncode, blocked.stderr)  # dropped by ufw: a timeout
    finally:
        subprocess.run(["ip", "addr", "del", f"{other}/32", "dev", link], capture_output=True)
    shown = cli(live_dirs, "verify", str(recipe), "-v", env=SECRET_ENV, timeout=300)
    assert f'"{box.ip}:9100"' in shown.stdout, shown.stdout[-3000:]  # verify -v prints the scrape config
    again = cli(live_dirs, "apply", str(recipe), "--yes", "--json", env=SECRET_ENV, timeout=900)
    assert again.returncode == 0 and finished(again)["changes"] == 0, again.stdout[-3000:]


SITE_DOWN_FOR = "20s"  # CI's wait; the product's rule says 2m (DEPLOY_WIZARD_SLOW_ALERTS=1 waits for that)
QUICK_SCRAPE = "5s"  # CI's scrape and evaluation interval; the product's is 15s


def quicker_alerts(box) -> None:
    """CI's shortcut, on the server as the step wrote it: SiteDown's `for:` and Prometheus's scrape and evaluation
    intervals shortened, and nothing else changed (the rule's expression, labels and the rest of both files are
    the product's own, asserted by the one replacement each), then checked and reloaded."""
    rules_path, config_path = "/etc/prometheus/deploy-wizard-rules.yml", "/etc/prometheus/prometheus.yml"
    rules, config = on_box(box, f"cat {rules_path}").stdout, on_box(box, f"cat {config_path}").stdout
    head, _sep, rest = rules.partition("- alert: SiteDown\n")
    assert rest.count("        for: 2m\n") >= 1 and rest.index("for: 2m") < rest.index("- alert:"), rules
    rules = head + _sep + rest.replace("        for: 2m\n", f"        for: {SITE_DOWN_FOR}\n", 1)
    for key in ("scrape_interval", "evaluation_interval"):
        assert config.count(f"  {key}: 15s\n") == 1, config
        config = config.replace(f"  {key}: 15s\n", f"  {key}: {QUICK_SCRAPE}\n")
    for path, text in ((rules_path, rules), (config_path, config)):
        assert on_box(box, f"cat > {path}", stdin=text).returncode == 0
    checked = on_box(box, f"promtool check config {config_path} && systemctl reload prometheus")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for _attempt in range(60):  # the reload is asynchronous: wait until the rule is loaded with its new `for:`
        loaded = [rule for group in promql_api(box, "rules")["groups"] for rule in group["rules"]
                  if rule["name"] == "SiteDown"]
        if loaded and loaded[0]["duration"] == int(SITE_DOWN_FOR.rstrip("s")):
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not load SiteDown with for: {SITE_DOWN_FOR}: {loaded}")


def test_the_site_down_alert_fires_when_the_app_stops(box, first) -> None:
    """Last in the module: the app is stopped, SiteDown fires and Alertmanager mails it through the relay (the
    sink started above). CI shortens the rule's `for:` and the scrape interval (quicker_alerts);
    DEPLOY_WIZARD_SLOW_ALERTS=1 waits for the product's own 2 minutes at its 15 s interval."""
    slow = os.environ.get("DEPLOY_WIZARD_SLOW_ALERTS") == "1"
    if not slow:
        quicker_alerts(box)
    assert promql(box, 'probe_success{job="blackbox",app="live"}')[0]["value"][1] == "1"
    stopped = time.monotonic()
    on_box(box, "systemctl stop live.socket 'live@*.service'")
    status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {HOST}",
                             f"http://{box.ip}/health"], capture_output=True, text=True, timeout=30).stdout
    assert status == "502", status  # nginx is up, the app behind it is not
    states = []
    for _attempt in range(200 if slow else 60):
        alerts = promql(box, 'ALERTS{alertname="SiteDown",app="live"}')
        states += [alerts[0]["metric"]["alertstate"]] if alerts else []
        if states and states[-1] == "firing":
            break
        time.sleep(2)
    else:
        raise AssertionError(f"SiteDown never fired: {states}")
    assert states[0] == "pending", states  # pending first, for its `for:`, then firing
    assert promql(box, 'probe_success{job="blackbox",app="live"}')[0]["value"][1] == "0"
    for _attempt in range(60):  # Alertmanager's group_wait is 10 s
        if any("[FIRING:1] SiteDown" in mail for mail in mails(box)):
            break
        time.sleep(1)
    else:
        raise AssertionError("the firing SiteDown alert was not mailed")
    print(f"SiteDown fired and was mailed {time.monotonic() - stopped:.0f} s after the app stopped "
          f"(for: {'2m' if slow else SITE_DOWN_FOR})")
