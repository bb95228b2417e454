"""infra/docker-compose.yml checked against the code, since no Docker engine runs here: every
PODIUM_* variable is a setting and validates, addresses name services on their container ports,
host ports are the local stack's, health checks and one-shot jobs line up with what waits on
them, the broker's definitions are mounted, images are pinned to the dev server's lines, and the
Podium services run commands `podium` accepts from an image holding every package."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from infra.stack.config import StackConfig
from podium.cli import _parser
from workers.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TEXT = (INFRA / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PODIUM = {name: s for name, s in SERVICES.items() if "build" in s}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[?-][^}]*)?\}")
DUMMY = "dummy-value"


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {k: INTERPOLATION.sub(DUMMY, str(v)) for k, v in service.get("environment", {}).items()}


def _published(service: str) -> dict[int, tuple[str, int]]:
    """container port -> (host address, host port)"""
    ports = {}
    for entry in SERVICES[service].get("ports", []):
        address, host, container = entry.split(":")
        ports[int(container)] = (address, int(host))
    return ports


def _settings(service: dict[str, Any]) -> Settings:
    values = {k.removeprefix("PODIUM_").lower(): v for k, v in _env(service).items()}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _image_version(service: str) -> str:
    return str(SERVICES[service]["image"]).rsplit(":", 1)[1]


def _dev_server_versions() -> dict[str, str]:
    temporal = Path(sys.executable).parent / "temporal"
    out = subprocess.run(
        [str(temporal), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    # "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
    return dict(re.findall(r"(Server|UI) ([\d.]+)", out))


def test_every_podium_variable_is_a_setting_and_validates() -> None:
    known = {f"PODIUM_{name.upper()}" for name in Settings.model_fields}
    for name, service in SERVICES.items():
        unknown = {k for k in service.get("environment", {}) if k.startswith("PODIUM_")} - known
        assert not unknown, f"{name}: {unknown} are not settings"
    for service in PODIUM.values():
        _settings(service)


def test_every_interpolated_variable_is_in_the_env_example_and_none_is_left_over() -> None:
    example = (INFRA / ".env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    used = {m.group(1) for m in INTERPOLATION.finditer(TEXT)}
    assert used == listed
    # Required, not defaulted: compose refuses to start without them.
    assert all(m.group(0).startswith(f"${{{m.group(1)}:?") for m in INTERPOLATION.finditer(TEXT))


def test_the_podium_processes_reach_each_server_on_its_container_port() -> None:
    settings = _settings(PODIUM["worker"])
    targets = {
        "temporal": settings.temporal_address,
        "rabbitmq": settings.amqp_url,
        "postgresql": settings.database_url.get_secret_value() if settings.database_url else "",
        "jaeger": settings.otlp_endpoint or "",
        "mail": f"//{settings.smtp_host}:{settings.smtp_port}",
    }
    for service, address in targets.items():
        parts = urlsplit(address if "//" in address else f"//{address}")
        assert parts.hostname == service
        assert parts.port in _published(service), f"{service} does not listen on {parts.port}"


def test_host_ports_are_the_local_stacks_and_on_loopback_only() -> None:
    defaults, stack = Settings(_env_file=None), StackConfig()  # type: ignore[call-arg]
    expected = {
        "temporal": (7233, urlsplit(f"//{defaults.temporal_address}").port),
        "temporal-ui": (8080, urlsplit(defaults.temporal_ui_url).port),
        "rabbitmq": (5672, urlsplit(defaults.amqp_url).port),
        "postgresql": (5432, stack.postgres_port),
        "mail": (8025, defaults.smtp_port),
        "codec-server": (8089, defaults.codec_server_port),
    }
    for service, (container, host) in expected.items():
        assert _published(service)[container] == ("127.0.0.1", host), service
    for service in SERVICES:
        assert all(address == "127.0.0.1" for address, _ in _published(service).values())


def test_what_waits_on_a_service_waits_on_something_that_ends_or_reports() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        for target, how in depends.items() if isinstance(depends, dict) else []:
            assert target in SERVICES, f"{name} waits on a missing {target}"
            condition = how["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{target} has no health check"
            elif condition == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} is not a one-shot job"


def test_temporal_is_checked_with_the_temporal_cli_and_set_up_without_auto_setup() -> None:
    assert "tctl" not in TEXT and "auto-setup" not in TEXT
    check = SERVICES["temporal-admin-tools"]["healthcheck"]["test"]
    assert check[1:] == ["temporal", "operator", "cluster", "health"]
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert "update-schema" in " ".join(SERVICES["temporal-schema"]["command"])
    setup = " ".join(SERVICES["temporal-setup"]["command"])
    for name in ("CustomerId", "OrderStatus", "OrderTotal"):
        assert name in setup
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    namespaces = re.search(r"for ns in ([\w -]+); do", setup)
    assert namespaces is not None
    assert namespaces.group(1).split() == [defaults.temporal_namespace, defaults.bench_namespace]


def test_images_are_pinned_to_the_dev_servers_lines() -> None:
    for name, service in SERVICES.items():
        if name not in PODIUM:
            image = str(service["image"])
            assert re.search(r":\d", image) and not image.endswith(":latest"), image
    versions = _dev_server_versions()
    assert _image_version("temporal") == versions["Server"]
    assert _image_version("temporal-admin-tools") == _image_version("temporal")
    assert _image_version("temporal-schema") == _image_version("temporal")
    assert _image_version("temporal-ui") == versions["UI"]
    assert int(_image_version("rabbitmq").split(".")[0]) >= 4
    assert SERVICES["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")


def test_the_ui_decodes_through_the_codec_server_from_its_own_origin() -> None:
    ui = SERVICES["temporal-ui"]["environment"]
    codec = urlsplit(ui["TEMPORAL_CODEC_ENDPOINT"])
    assert codec.hostname == "localhost" and codec.port == _published("codec-server")[8089][1]
    origin = f"http://localhost:{_published('temporal-ui')[8080][1]}"
    assert origin == ui["TEMPORAL_CORS_ORIGINS"]
    assert origin in Settings(_env_file=None).codec_server_origins  # type: ignore[call-arg]


def test_the_broker_boots_on_the_exported_definitions_with_the_seeded_user() -> None:
    seed_job, broker = SERVICES["rabbitmq-definitions"], SERVICES["rabbitmq"]
    assert "./rabbitmq/definitions.json:/definitions/exported.json:ro" in seed_job["volumes"]
    assert seed_job["command"] == ["/definitions/exported.json", "/seed/definitions.json"]
    seed_volume = next(v for v in seed_job["volumes"] if v.endswith(":/seed"))
    volume = seed_volume.split(":")[0]
    mounted = next(v for v in broker["volumes"] if v.startswith(f"{volume}:"))
    conf = (INFRA / "rabbitmq" / "rabbitmq.conf").read_text()
    load = re.search(r"^load_definitions = (\S+)$", conf, re.MULTILINE)
    assert load is not None
    assert load.group(1) == mounted.split(":")[1] + "/definitions.json"
    assert "./rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/20-podium.conf:ro" in broker["volumes"]
    assert broker["depends_on"]["rabbitmq-definitions"]["condition"] == (
        "service_completed_successfully"
    )


def test_every_mounted_file_exists() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (INFRA / source).exists(), f"{name} mounts a missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} mounts an undeclared {source}"


@pytest.mark.parametrize("name", sorted(PODIUM))
def test_podium_services_run_commands_podium_accepts(name: str) -> None:
    service = PODIUM[name]
    if service.get("entrypoint"):  # python -m <module>: the module is in the image
        module = service["entrypoint"][2]
        assert (ROOT / (module.replace(".", "/") + ".py")).exists()
        return
    _parser().parse_args(service["command"])


def test_the_image_holds_every_package_the_project_installs() -> None:
    build = next(iter(PODIUM.values()))["build"]
    dockerfile = (INFRA / build["context"] / build["dockerfile"]).resolve()
    assert dockerfile == ROOT / "Dockerfile"
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile.read_text(), re.MULTILINE))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert copied == packages
    assert 'ENTRYPOINT ["podium"]' in dockerfile.read_text()
