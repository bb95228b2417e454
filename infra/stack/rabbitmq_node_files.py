"""The private node's environment, config files and the account it runs as."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
from dataclasses import replace
from pathlib import Path

from infra.stack.config import TLS_FILES, StackConfig
from infra.stack.errors import StackError
from infra.stack.processes import traversable_by, write_private
from workers.runtime.private_files import private_dir

log = logging.getLogger(__name__)


def node_config(config: StackConfig, index: int) -> StackConfig:
    """Node `index` (1-based) of the stack's broker: node 1 is `config` itself; node N is named
    `<name>-N@<host>` and listens on the ports after node 1's (no TLS listener of its own)."""
    if index == 1:
        return config
    name, _, host = config.node_name.partition("@")
    step = index - 1
    return replace(
        config,
        node_name=f"{name}-{index}@{host}",
        amqp_port=config.amqp_port + step,
        management_port=config.management_port + step,
        dist_port=config.dist_port + step,
        amqps_port=None,
        tls_dir=None,
    )


def node_env(config: StackConfig, node_dir: Path) -> dict[str, str]:
    c = config
    d = node_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
    env.update(
        # HOME holds the node's own Erlang cookie, shared with rabbitmqctl and nobody else.
        HOME=str(d),
        RABBITMQ_NODENAME=c.node_name,
        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
        RABBITMQ_NODE_PORT=str(c.amqp_port),
        RABBITMQ_DIST_PORT=str(c.dist_port),
        RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
        RABBITMQ_LOG_BASE=str(c.logs / "rabbitmq"),
        RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
        RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
        RABBITMQ_PID_FILE=str(d / "beam.pid"),
        RABBITMQ_CONF_ENV_FILE="/dev/null",  # ignore /etc/rabbitmq/rabbitmq-env.conf
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        # rabbitmqctl runs an Erlang node of its own, listening on every interface by default.
        RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        ERL_EPMD_PORT=str(c.epmd_port),
        ERL_EPMD_ADDRESS="127.0.0.1",
    )
    return env


def runner_account(home: Path) -> pwd.struct_passwd | None:
    """The account the node runs as: `rabbitmq` when we are root and it can reach `home`."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam("rabbitmq")
    except KeyError:
        return None
    if not traversable_by(home, account):
        # e.g. pytest's 0700 tmp dirs: the node runs as root rather than failing with eacces.
        log.info("%s is not reachable by user rabbitmq; the node runs as root", home)
        return None
    return account


def write_node_files(
    config: StackConfig,
    node_dir: Path,
    password: str,
    runner: pwd.struct_passwd | None,
    keep_owner: Path,
    seed: str | None = None,
) -> None:
    """Config, plugins and a sourceable `env`; chowned to `runner` except `keep_owner`.

    With a `seed` node, the node joins the seed's cluster at its first boot (peer discovery
    runs only on a node without data)."""
    c = config
    conf = [
        f"listeners.tcp.default = 127.0.0.1:{c.amqp_port}",
        # Seeded on first boot only, so `guest` is never created.
        f"default_user = {c.user}",
        f"default_pass = {password}",
        f"default_vhost = {c.vhost}",
        "default_user_tags.administrator = true",
        "default_permissions.configure = .*",
        "default_permissions.read = .*",
        "default_permissions.write = .*",
        "log.file.level = info",
    ]
    if c.with_management:
        conf += [f"management.tcp.port = {c.management_port}", "management.tcp.ip = 127.0.0.1"]
    if c.amqps_port is not None:
        conf += _tls_listener(c, node_dir / "tls")
    if seed is not None:
        conf += [
            "cluster_formation.peer_discovery_backend = classic_config",
            f"cluster_formation.classic_config.nodes.1 = {seed}",
        ]
    plugins = "[rabbitmq_management]." if c.with_management else "[]."
    for sub in (node_dir / "mnesia", c.logs / "rabbitmq"):
        private_dir(sub)
    write_private(node_dir / "rabbitmq.conf", "\n".join(conf) + "\n")
    write_private(node_dir / "enabled_plugins", plugins + "\n")
    # For people who want to poke at the node by hand: `. <home>/rabbitmq/env; rabbitmqctl ...`
    wanted = ("HOME", "RABBITMQ_", "ERL_")
    env = node_env(config, node_dir)
    exports = [f"export {k}='{v}'" for k, v in env.items() if k.startswith(wanted)]
    write_private(node_dir / "env", "\n".join(exports) + "\n")
    if runner is not None:
        for top in (node_dir, c.logs / "rabbitmq"):
            for path in [top, *top.rglob("*")]:
                if path != keep_owner:
                    os.chown(path, runner.pw_uid, runner.pw_gid, follow_symlinks=False)


def _tls_listener(config: StackConfig, tls: Path) -> list[str]:
    """Copy the TLS files next to the node (chowned with it, as it may run as `rabbitmq`)."""
    if config.tls_dir is None:
        raise StackError("amqps_port is set without tls_dir (CA, server certificate and key)")
    private_dir(tls)
    for name in TLS_FILES:
        source = config.tls_dir / name
        if not source.is_file():
            raise StackError(f"TLS file {source} is missing")
        shutil.copyfile(source, tls / name)
        (tls / name).chmod(0o600)
    ca, cert, key = (tls / name for name in TLS_FILES)
    return [
        f"listeners.ssl.default = 127.0.0.1:{config.amqps_port}",
        f"ssl_options.cacertfile = {ca}",
        f"ssl_options.certfile = {cert}",
        f"ssl_options.keyfile = {key}",
        # Mutual TLS: a client without a certificate signed by our CA is refused.
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = true",
    ]
