# The http config builder of the integration tests: one listener in front of named pools, with
# routes, limits and timeouts as keyword options. Python 3.11 stdlib only.
from __future__ import annotations

from harness import runtime_user_lines
from harness_sockets import HOST


def _backend_lines(backends) -> list[str]:
    lines = ["backends = ["]
    for backend in backends:
        port, weight = backend if isinstance(backend, tuple) else (backend, None)
        weight_part = "" if weight is None else f", weight = {weight}"
        lines.append(f'  {{ address = "{HOST}:{port}"{weight_part} }},')
    return lines + ["]"]


def http_config(port: int, pools, *, routes=(), header_timeout: str = "10s",
                client_idle: str = "60s", max_header_bytes: str = "32KiB",
                max_body_bytes="0", connect_timeout: str | None = "2s",
                response_timeout: str | None = "10s", idle_timeout: str | None = None,
                access_log: str = "off", log_format: str = "text", balance: str = "round_robin",
                workers: int = 1, grace: str = "2s", default_pool: str | None = None,
                protocol: str = "http") -> str:
    """A one-listener http config named `web` on 127.0.0.1:`port`.

    `pools`: a list of backends (ports or (port, weight)) for the single pool "app", or a
    dict {pool name: backends}; the first pool is the default unless `default_pool` names one.
    `routes`: dicts with `pool` and optionally `host`, `path_prefix`, in match order.
    Pool timeouts (connect, response, idle) apply to every pool when not None.
    """
    if not isinstance(pools, dict):
        pools = {"app": pools}
    default_pool = default_pool or next(iter(pools))
    size = max_body_bytes if isinstance(max_body_bytes, int) else f'"{max_body_bytes}"'
    lines = [
        "[runtime]", f"workers = {workers}", f'grace_period = "{grace}"', *runtime_user_lines(),
        "", "[log]", 'level = "info"', f'access = "{access_log}"', f'format = "{log_format}"', "",
        "[listeners.web]", f'bind = "{HOST}:{port}"', f'protocol = "{protocol}"',
        f'pool = "{default_pool}"', "",
        "[listeners.web.timeouts]", f'header = "{header_timeout}"',
        f'client_idle = "{client_idle}"', "",
        "[listeners.web.limits]", f'max_header_bytes = "{max_header_bytes}"',
        f"max_body_bytes = {size}", "",
    ]
    for route in routes:
        lines.append("[[listeners.web.routes]]")
        for key in ("host", "path_prefix", "pool"):
            if key in route:
                lines.append(f'{key} = "{route[key]}"')
        lines.append("")
    for name, backends in pools.items():
        lines += [f"[pools.{name}]", f'balance = "{balance}"', *_backend_lines(backends)]
        timeouts = [(k, v) for k, v in (("connect", connect_timeout),
                                         ("response", response_timeout),
                                         ("idle", idle_timeout)) if v is not None]
        if timeouts:
            lines += [f"[pools.{name}.timeouts]", *[f'{k} = "{v}"' for k, v in timeouts]]
        lines.append("")
    return "\n".join(lines)
