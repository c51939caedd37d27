"""Asking the app whether it is healthy, the way nginx will ask it.

Why one probe for every question (a new release before it takes traffic, the live app after a change, the
health-check timer): a health check that asks differently from nginx proves nothing. So it sends the site's
own Host header and, behind TLS, `X-Forwarded-Proto: https` (as nginx does); it follows redirects that stay
on the site, over the same socket; and only a final 2xx counts. A 3xx elsewhere, a 4xx or a 5xx fails, with
the status and the first lines of what the app answered, so the operator sees the app's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.engine.commands import Command, sh

# $1 socket, $2 Host, $3 path, $4 scheme the app should believe (http/https), $5 seconds to wait for an answer
PROBE = r'''
s="$1"; host="$2"; path="$3"; proto="$4"; wait="$5"
body=$(mktemp); trap 'rm -f "$body"' EXIT
end=$(( $(date +%s) + wait ))
ask() {
  curl -s -o "$body" -w '%{http_code} %{redirect_url}' -m 15 --unix-socket "$s" \
    -H "Host: $host" -H "X-Forwarded-Proto: $proto" -H "X-Forwarded-For: 127.0.0.1" "http://$host$1"
}
until out=$(ask "$path") && [ "${out%% *}" != 000 ]; do
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "health: no answer on $s within ${wait}s (the app did not start: see its log below)"; exit 1
  fi
  sleep 1
done
code=${out%% *}; location=${out#* }; hops=0; at="$path"
while [ "${code#3}" != "$code" ] && [ "$hops" -lt 5 ]; do
  case "$location" in
    "http://$host/"*) next="/${location#http://$host/}" ;;
    "https://$host/"*) next="/${location#https://$host/}" ;;
    *) echo "health: $at answers $code, a redirect to $location (another site): set health_path to a page" \
            "that answers 200 itself"; exit 1 ;;
  esac
  out=$(ask "$next") || { echo "health: no answer for $next"; exit 1; }
  code=${out%% *}; location=${out#* }; at="$next"; hops=$((hops + 1))
done
case "$code" in
  2??) echo "health: $at answers $code (Host: $host)"; exit 0 ;;
esac
echo "health: $at answers $code (Host: $host); the app said:"
sed -e 's/<[^>]*>//g' -e '/^[[:space:]]*$/d' "$body" | head -n 15
exit 1
'''


@dataclass(frozen=True)
class Probe:
    socket: str
    host: str  # the site's first server name; "localhost" when no nginx step serves a site
    path: str
    https: bool  # behind TLS: the app must believe the request came over https
    wait: int = 60  # seconds for the app to answer at all (a release that boots slowly)

    def command(self) -> Command:
        scheme = "https" if self.https else "http"
        return sh(PROBE, self.socket, self.host, self.path, scheme, str(self.wait),
                  display=f"curl --unix-socket {self.socket} -H 'Host: {self.host}' "
                          f"-H 'X-Forwarded-Proto: {scheme}' http://{self.host}{self.path}")
