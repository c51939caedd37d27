"""The goals (tutorial 1.1): answers and server size -> defaults, each with its reason; overrides, replays, claims."""

from __future__ import annotations

import pytest

from recipes.goals.facts import ServerSize, Size, parse_size
from recipes.goals.rules import Answers, resolve
from recipes.goals.step import Goals, GoalsSettings
from recipes.shared.claims import Claims
from wizard.app.goals import overlay
from wizard.app.recipefile import RecipeError, parse, with_overrides
from wizard.engine.facts import FactValues, FileInfo
from wizard.engine.step import Context, Ok, RunCommand, Warn

INTERNAL = Answers("internal", 20, "business_hours", "important")
PUBLIC = Answers("public", 200, "always", "critical")
BIG = Answers("public", 5000, "always", "critical")

# (answers, cpus, MiB) -> workers, swap MiB, too small?
TABLE = [
    (INTERNAL, 1, 512, 1, 1024, True),     # no room for one worker beside the live release
    (INTERNAL, 1, 1024, 2, 1024, False),   # two for uptime, swap on a small server
    (INTERNAL, 2, 2048, 2, 0, False),      # 20 users need 1 busy worker + 1 spare: fewer than 2 x CPUs + 1
    (INTERNAL, 16, 65536, 2, 0, False),
    (PUBLIC, 1, 1024, 3, 1024, True),      # 200 users need 5; 1 CPU allows 3, 1 GiB allows 3
    (PUBLIC, 2, 2048, 5, 0, False),        # 2 x 2 + 1 = 5, memory allows 8
    (PUBLIC, 4, 8192, 5, 0, False),        # capped by what the users need (4 + 1)
    (BIG, 4, 8192, 9, 0, True),            # 5000 users need 100 workers
    (BIG, 16, 65536, 33, 0, True),
]


@pytest.mark.parametrize(("answers", "cpus", "mem", "workers", "swap", "small"), TABLE)
def test_server_sizes(answers, cpus, mem, workers, swap, small):
    result = resolve(answers, Size(cpus=cpus, mem_mib=mem, disk_mib=20000))
    assert result.resolved.workers == workers
    assert result.resolved.swap_mib == swap
    assert bool(result.too_small) is small
    public = answers.audience == "public"
    assert result.resolved.fail2ban is public and result.resolved.unattended_upgrades is public
    assert result.resolved.rate_limit == (10 if public else 0)
    assert result.resolved.backups is True  # important and critical data are backed up


def test_every_default_says_why_and_where_the_rule_comes_from():
    for derived in resolve(PUBLIC, Size(cpus=2, mem_mib=2048, disk_mib=20000)).derived:
        assert derived.because.startswith(("you said", "the server has")), derived
        assert derived.rule and derived.source, derived
    workers = resolve(PUBLIC, Size(cpus=2, mem_mib=2048, disk_mib=20000)).derived[0]
    assert "(2 x CPUs) + 1 = 5" in workers.rule and "docs.gunicorn.org" in workers.source


def test_too_small_gives_the_numbers():
    text = resolve(BIG, Size(cpus=2, mem_mib=2048, disk_mib=1000)).too_small
    assert "5000 users at peak keep about 100 workers busy" in text[0] and "2 CPUs: room for 5" in text[0]
    assert "only 1000 MiB of disk" in text[1]


def test_disposable_data_needs_no_backups():
    assert resolve(Answers("internal", 5, "best_effort", "disposable"), Size(2, 4096, 20000)).resolved.backups is False


def test_other_apps_leave_less_memory_and_server_wide_settings_take_the_strictest():
    size = Size(cpus=4, mem_mib=2048, disk_mib=20000)
    alone = resolve(PUBLIC, size).resolved.workers
    others = {"shop": {"memory_mib": 1400, "fail2ban": True, "unattended_upgrades": True, "swap_mib": 2048}}
    beside = resolve(INTERNAL, size, others)
    assert beside.resolved.workers < alone and beside.resolved.workers == 1
    # an internal tool does not turn off what a public app on the same server needs
    assert beside.resolved.fail2ban is True and beside.resolved.unattended_upgrades is True
    assert beside.resolved.swap_mib == 2048
    fail2ban = next(d for d in beside.derived if d.setting == "firewall.fail2ban")
    assert "shop" in fail2ban.because and "strictest" in fail2ban.because


# the script's output on: a VM; an nspawn sandbox limited to 1 CPU and 512 MiB (systemd's CPUQuota=100%,
# MemoryMax=512M); a cgroup v1 host without limits (what this project's sandboxes report here)
@pytest.mark.parametrize(("out", "size"), [
    ("nproc 4\nmem_kib 8041204\nswap_kib 0\ncg_mem max\ncg_cpu max 100000\ndisk_mib 51200\nvirt kvm\n",
     Size(4, 7852, 51200, 0, "kvm", False)),
    ("nproc 2\nmem_kib 16384000\nswap_kib 2097148\ncg_mem 536870912\ncg_cpu 100000 100000\ndisk_mib 9000\n"
     "virt systemd-nspawn\n", Size(1, 512, 9000, 2047, "systemd-nspawn", True)),
    ("nproc 8\nmem_kib 4000000\nswap_kib 0\ncg_mem 9223372036854771712\ncg_cpu -1 100000\ndisk_mib 100\n"
     "virt none\n", Size(8, 3906, 100, 0, "none", False)),
    # an nspawn sandbox on a cgroup v1 host limited to 768 MiB and half a CPU (cfs quota 50000 of 100000)
    ("nproc 2\nmem_kib 24683792\nswap_kib 0\ncg_mem 805306368\ncg_cpu 50000 100000\ndisk_mib 78648\n"
     "virt systemd-nspawn\n", Size(1, 768, 78648, 0, "systemd-nspawn", True)),
])
def test_size_respects_cgroup_limits(out, size):
    assert parse_size(out) == size


def facts(size: Size, claims: dict | None = None) -> FactValues:
    return FactValues({ServerSize().key: size, Claims("goals").key: claims or {},
                       FileInfo("/etc/deploy-wizard/claims/goals/app.json").key: None})


def test_plan_in_a_cgroup_limited_container_explains_instead_of_adding_swap():
    size = parse_size("nproc 2\nmem_kib 16384000\nswap_kib 0\ncg_mem 536870912\ncg_cpu 100000 100000\n"
                      "disk_mib 9000\nvirt systemd-nspawn\n")
    plan = list(Goals().plan(GoalsSettings(), facts(size), Context()))
    assert "limited by its cgroup" in plan[0].reason
    warns = [item.text for item in plan if isinstance(item, Warn)]
    assert any("container (systemd-nspawn)" in text and "1024 MiB of swap are not added" in text for text in warns)
    assert not any(isinstance(item, RunCommand) for item in plan)


def test_plan_on_a_small_vm_adds_swap_once():
    plan = list(Goals().plan(GoalsSettings(), facts(Size(1, 1024, 20000, 0, "kvm")), Context()))
    swap = [item for item in plan if isinstance(item, RunCommand)]
    assert len(swap) == 1 and "/swapfile" in swap[0].command.shell() and swap[0].skip_if is not None
    again = list(Goals().plan(GoalsSettings(), facts(Size(1, 1024, 20000, 1024, "kvm")), Context()))
    assert not any(isinstance(item, RunCommand) for item in again)


RECIPE = """\
version: 1
name: app
target: {host: 10.0.0.1}
steps:
  goals: {audience: public, peak_users: 200}
  app_server: {module: "app:app", timeout: 120}
  nginx: {server_names: [a.example.test]}
  firewall: {}
"""


def test_defaults_fill_what_the_operator_left_out_and_keep_overrides():
    recipe = parse(RECIPE)
    step = Goals()
    own, defaults = step.resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    resolved = overlay(recipe, "goals", own, defaults)
    assert resolved.steps.app_server.workers == 5
    assert resolved.steps.app_server.timeout == 120  # the operator's own value stays
    assert resolved.steps.nginx.rate_limit == 10 and resolved.steps.firewall.fail2ban is True
    assert resolved.steps.goals.resolved.workers == 5 and resolved.steps.goals.resolved.cpus == 2
    lines = [item.reason for item in step.plan(resolved.steps.goals, facts(Size(2, 2048, 20000)), resolved.context())
             if isinstance(item, Ok)]
    assert any(line.startswith("app_server.workers = 5, because you said 200 users at peak") for line in lines)
    assert any(line.startswith("app_server.timeout = 120: your own setting (the goals would give 30") for line in lines)
    assert any("os_updates.unattended_upgrades = on" in line and "not in this recipe" in line for line in lines)


def test_a_setting_saved_at_its_default_follows_the_goals_and_another_value_is_an_override():
    text = RECIPE.replace("firewall: {}", "firewall: {fail2ban: false}\n  os_updates: {unattended_upgrades: false}")
    recipe = parse(text.replace("timeout: 120", "timeout: 30"))
    own, defaults = Goals().resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    resolved = overlay(recipe, "goals", own, defaults)
    assert resolved.steps.firewall.fail2ban is True and resolved.steps.os_updates.unattended_upgrades is True
    internal = parse(RECIPE.replace("audience: public", "audience: internal"))
    own, defaults = Goals().resolve(internal.steps.goals, facts(Size(2, 2048, 20000)), internal.context())
    assert overlay(internal, "goals", own, defaults).steps.app_server.timeout == 120  # 120 is not the default


def test_replay_on_another_size_keeps_or_recomputes_as_told():
    recipe = parse(RECIPE)
    step = Goals()
    own, _defaults = step.resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    bigger = facts(Size(8, 16384, 20000))
    kept, note = step.resolution(own, bigger, recipe.context())
    assert kept.resolved.workers == 5 and "kept (goals.on_other_size: keep)" in note
    assert "resolved for 2 CPUs and 2048 MiB; this server has 8 CPUs and 16384 MiB" in note
    redo = own.model_copy(update={"on_other_size": "recompute"})
    fresh, note = step.resolution(redo, bigger, recipe.context())
    assert fresh.resolved.workers == 5  # 200 users need 4 + 1, whatever the size
    assert "recomputed for this server" in note and "swap_mib" not in note
    small, note = step.resolution(redo, facts(Size(1, 1024, 20000, 0, "kvm")), recipe.context())
    assert small.resolved.workers == 3 and "workers 5 -> 3" in note and "swap_mib 0 -> 1024" in note
    # the defaults given to the other steps are the recomputed ones; the recipe keeps its saved values
    kept_own, defaults = step.resolve(redo, facts(Size(1, 1024, 20000, 0, "kvm")), recipe.context())
    assert defaults["app_server"]["workers"] == 3 and kept_own.resolved.workers == 5


@pytest.mark.parametrize(("value", "words"), [("-5", "not a number of users"), ("0", "not a number of users"),
                                               ("5000000000", "more than one server can serve")])
def test_bad_user_counts_are_refused_naming_the_field(value, words):
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(RECIPE), [f"goals.peak_users={value}"])
    assert "goals.peak_users" in str(info.value) and words in str(info.value)


def test_set_and_schema_know_the_goals():
    recipe = with_overrides(parse(RECIPE), ["goals.uptime=always", "goals.on_other_size=recompute"])
    assert recipe.steps.goals.uptime == "always" and recipe.steps.goals.on_other_size == "recompute"
    from wizard.app.recipefile import json_schema

    schema = str(json_schema())
    assert "peak_users" in schema and "on_other_size" in schema and "internal_ca" in schema


def test_goals_own_keeps_a_setting_at_its_default_value_on_a_public_site():
    """fail2ban off, unattended upgrades off and the default timeout on a public site: named in goals.own, each
    stays as written although it equals the default; the plan says it is the operator's own."""
    text = RECIPE.replace("firewall: {}", "firewall: {fail2ban: false}\n  os_updates: {unattended_upgrades: false}")
    text = text.replace("timeout: 120", "timeout: 30").replace(
        "peak_users: 200}", "peak_users: 200, own: [firewall.fail2ban, app_server.workers]}")
    recipe = parse(text)
    own, defaults = Goals().resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    resolved = overlay(recipe, "goals", own, defaults)
    assert resolved.steps.firewall.fail2ban is False  # the operator's, at its default
    assert resolved.steps.app_server.workers is None  # app_server's own 2 x CPUs + 1, not the 5 the goals give
    assert resolved.steps.os_updates.unattended_upgrades is True  # not named: follows the goals
    lines = [item.reason for item in Goals().plan(resolved.steps.goals, facts(Size(2, 2048, 20000)),
                                                  resolved.context()) if isinstance(item, Ok)]
    assert any(line.startswith("firewall.fail2ban = off: your own setting (the goals would give on") for line in lines)
    assert any(line.startswith("app_server.workers = empty (the step's own default): your own setting (the goals "
                               "would give 5") for line in lines)


def test_set_makes_a_setting_the_operators_own_and_reset_gives_it_back_to_the_goals():
    recipe = with_overrides(parse(RECIPE), ["firewall.fail2ban=false", "goals.peak_users=300"])
    assert recipe.steps.goals.own == ["firewall.fail2ban"]  # goals.peak_users is the goals' own answer
    own, defaults = Goals().resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    assert overlay(recipe, "goals", own, defaults).steps.firewall.fail2ban is False
    again = with_overrides(recipe, [], ["firewall.fail2ban"])
    assert again.steps.goals.own == []
    own, defaults = Goals().resolve(again.steps.goals, facts(Size(2, 2048, 20000)), again.context())
    assert overlay(again, "goals", own, defaults).steps.firewall.fail2ban is True
    # a recipe without goals is unchanged by the same --set
    plain = with_overrides(parse(RECIPE.replace("  goals: {audience: public, peak_users: 200}\n", "")),
                           ["firewall.fail2ban=false"])
    assert plain.steps.goals is None and plain.steps.firewall.fail2ban is False


def test_goals_own_names_only_settings_the_goals_fill():
    import typing

    from recipes.goals.rules import FILLS, Filled

    assert set(typing.get_args(Filled)) == set(FILLS)
    with pytest.raises(RecipeError) as info:
        parse(RECIPE.replace("peak_users: 200}", "peak_users: 200, own: [firewall.ssh_port]}"))
    assert "steps.goals.own.0" in str(info.value) and "firewall.fail2ban" in str(info.value)
    with pytest.raises(RecipeError) as info:
        with_overrides(parse(RECIPE), ["goals.own=fail2ban"])
    assert "goals.own" in str(info.value)


def _resolved_recipe(text: str):
    recipe = parse(text)
    own, defaults = Goals().resolve(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    return overlay(recipe, "goals", own, defaults)


BLOCK = """\
# our shop's recipe: reviewed by ops
version: 1
name: app
target: {host: 10.0.0.1}
steps:
  goals:
    audience: public  # a shop, open to anyone
    peak_users: 200
    own:
      - firewall.fail2ban
  # fail2ban off: the provider's edge bans for us
  firewall: {fail2ban: false}
"""


@pytest.mark.parametrize("text", [BLOCK, RECIPE, BLOCK.replace("    own:\n      - firewall.fail2ban\n", "")])
def test_resolved_values_are_inserted_into_the_file_as_it_is(tmp_path, text):
    from wizard.app.goals import Saved, save_resolved

    path = tmp_path / "app.yaml"
    path.write_text(text)
    resolved = _resolved_recipe(text)
    assert save_resolved(path, resolved) is Saved.INSERTED
    after = path.read_text()
    assert after.startswith(text.split("steps:")[0])  # everything before the goals, comments included, as it was
    for line in text.splitlines():
        assert line in after or line.startswith("  goals: {")  # no line lost; a flow mapping gains the values
    saved = parse(after)
    assert saved.steps.goals.resolved == resolved.steps.goals.resolved and saved.steps.goals.resolved.workers == 5
    assert saved.steps.firewall == parse(text).steps.firewall  # the other steps as written, not as resolved
    assert save_resolved(path, resolved) is Saved.NOTHING and path.read_text() == after  # once only


def test_a_layout_that_cannot_take_the_values_is_saved_whole_and_says_so(tmp_path):
    from wizard.app.goals import Saved, save_resolved

    text = BLOCK.replace("    own:\n      - firewall.fail2ban\n", "    on_other_size: >-\n      keep\n")
    path = tmp_path / "app.yaml"
    path.write_text(text)
    assert save_resolved(path, _resolved_recipe(text)) is Saved.REWRITTEN
    assert parse(path.read_text()).steps.goals.resolved.workers == 5 and "# our shop" not in path.read_text()


def test_redis_and_background_workers_leave_less_memory_to_gunicorn():
    from recipes.goals.rules import Beside, claim
    from recipes.goals.step import beside
    from recipes.redis.step import RedisSettings
    from recipes.workers.step import WorkersSettings

    size = Size(cpus=2, mem_mib=2048, disk_mib=20000)
    alone = resolve(PUBLIC, size)
    assert alone.resolved.workers == 5 and not alone.too_small
    # Redis with 1 GiB for data (+32 MiB of its own) and 3 worker processes (100 MiB each): 1356 MiB more reserved
    ctx = Context(others={"redis": RedisSettings(password="env:R", maxmemory="1gb"),
                          "workers": WorkersSettings(processes={"default": "rq worker", "beat": "rq scheduler"},
                                                     instances={"default": 2})})
    assert beside(ctx) == Beside(redis_mib=1024, worker_processes=3) and beside(ctx).mib == 1356
    crowded = resolve(PUBLIC, size, beside=beside(ctx))
    assert crowded.resolved.workers == 1  # (2048 - 384 - 1356) / 2 / 100 = 1
    rule = crowded.derived[0].rule
    assert "2048 MiB - 1740 MiB for the system, Redis (1056 MiB: its maxmemory + 32), 3 background workers " \
           "(300 MiB)" in rule
    assert crowded.too_small  # 200 users keep 4 workers busy
    # the claim other apps read counts them too
    assert claim(crowded.resolved, beside(ctx))["memory_mib"] == 1 * 100 * 2 + 1356
    assert beside(Context()) == Beside()  # neither step in the recipe: nothing more reserved


def test_the_claim_says_what_the_app_really_asks_of_the_server():
    """fail2ban kept off by the operator (goals.own) is no claim on the server: another app is not told this one
    needs it; workers set by hand are the memory this app claims."""
    from recipes.goals.rules import claim
    from recipes.goals.step import _effective

    recipe = with_overrides(parse(RECIPE), ["firewall.fail2ban=false", "app_server.workers=3"])
    resolution, _note = Goals().resolution(recipe.steps.goals, facts(Size(2, 2048, 20000)), recipe.context())
    assert resolution.resolved.fail2ban is True and resolution.resolved.workers == 5
    asked = claim(_effective(resolution.resolved, recipe.steps.goals, recipe.context()))
    assert asked["fail2ban"] is False and asked["memory_mib"] == 3 * 100 * 2
    assert asked["unattended_upgrades"] is True  # not the operator's: the goals' value
