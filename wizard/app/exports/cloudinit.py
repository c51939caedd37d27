"""The cloud-init export: user-data that writes the shell export onto a new server and runs it on first boot.

Why a wrapper and not a translation: the shell export is the reviewed artefact; cloud-init only has to put it
in place and start it. Secrets never go into user-data (providers show it in consoles and keep it in
metadata): the script reads them from /root/deploy-wizard-<name>.env, which the operator provides by their
own means (a private write_files entry, the provider's secret store).
"""

from __future__ import annotations

import base64

from wizard.app.exports.common import COVERS, dump_yaml, literal_block, secret_vars
from wizard.app.recording import Recording


def user_data(recording: Recording, script: str) -> str:
    name = recording.recipe.name
    path, env = f"/root/deploy-wizard-{name}.sh", f"/root/deploy-wizard-{name}.env"
    log = f"/var/log/deploy-wizard-{name}.log"
    variables = secret_vars(recording)
    out = ["#cloud-config",
           f"# {name}: made by deploy-wizard export --format cloud-init. On first boot it writes the shell export to",
           f"# {path} and runs it as root; the output goes to {log}.",
           "# Replays a recorded first apply on a fresh server of the release it was recorded on (see the script's",
           "# own header).", *COVERS]
    if variables:
        out += [f"# Secrets are NOT in this file: provide {env} (mode 0600, KEY=value lines) with:"]
        out += [f"#   {v.variable}=...   ({v.label})" for v in variables.values()]
    # the script as a readable literal block when YAML can hold it as one, else base64 (cloud-init decodes it)
    entry: dict[str, str] = {"path": path, "owner": "root:root", "permissions": "0700"}
    if literal_block(script):
        entry["content"] = script
    else:
        entry |= {"encoding": "b64", "content": base64.b64encode(script.encode()).decode()}
    run = f"set -a; if [ -r {env} ]; then . {env}; fi; set +a; {path} > {log} 2>&1"
    return "\n".join(out) + "\n" + dump_yaml({"write_files": [entry], "runcmd": [["bash", "-c", run]]})
