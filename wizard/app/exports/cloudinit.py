"""The cloud-init export: user-data that writes the shell export onto a new server and runs it on first boot.

Why a wrapper and not a translation: the shell export is the reviewed artefact; cloud-init only has to put it
in place and start it. Secrets never go into user-data (providers show it in consoles and keep it in
metadata): the script reads them from /root/deploy-wizard-<name>.env, which the operator provides by their
own means (a private write_files entry, the provider's secret store).
"""

from __future__ import annotations

import base64
import json

from wizard.app.exports.common import secret_vars, yaml_scalar
from wizard.app.recording import Recording


def user_data(recording: Recording, script: str) -> str:
    name = recording.recipe.name
    path, env = f"/root/deploy-wizard-{name}.sh", f"/root/deploy-wizard-{name}.env"
    log = f"/var/log/deploy-wizard-{name}.log"
    variables = secret_vars(recording)
    out = ["#cloud-config",
           f"# {name}: made by deploy-wizard export --format cloud-init. On first boot it writes the shell export to",
           f"# {path} and runs it as root; the output goes to {log}.",
           "# Replays a recorded first apply on a fresh Debian 12 server (see the script's own header)."]
    if variables:
        out += [f"# Secrets are NOT in this file: provide {env} (mode 0600, KEY=value lines) with:"]
        out += [f"#   {v.variable}=...   ({v.label})" for v in variables.values()]
    content = yaml_scalar(script, 6, unsafe=False)
    if not content.startswith("|"):
        content = base64.b64encode(script.encode()).decode()
        encoding = ["    encoding: b64"]
    else:
        encoding = []
    out += ["write_files:", f"  - path: {path}", "    owner: root:root", "    permissions: '0700'", *encoding,
            f"    content: {content}",
            "runcmd:",
            "  - - bash", "    - -c",
            "    - " + json.dumps(f"set -a; if [ -r {env} ]; then . {env}; fi; set +a; {path} > {log} 2>&1")]
    return "\n".join(out) + "\n"
