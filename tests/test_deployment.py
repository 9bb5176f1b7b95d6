"""The deployment files agree with the code and with each other.

No Docker engine and no cluster are needed: the Dockerfile is read as text (hadolint lints
it in CI) and its command is run the way the image would run it, on a copy of what the
image holds; the manifests are checked, strictly, against Kubernetes' JSON schemas for the
kinds they use (tests/schemas/kubernetes-<version>.json, extracted from kubernetes-validate's
bundle; CI also runs kubernetes-validate itself), and the KEDA objects against tests/schemas/.
Nothing leaves the machine.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml
from dotenv import dotenv_values
from fastapi.testclient import TestClient
from packaging.requirements import Requirement
from schemas.extract_kubernetes import schema_name
from uvicorn.main import main as uvicorn_command_line

from hf_text_to_image.config import Settings
from hf_text_to_image.engine.registration import SLEEP_NOTICE_TIMEOUT
from hf_text_to_image.main import create_app
from hf_text_to_image.service import SLUG
from hf_text_to_image.tasks.pipeline import SHUTDOWN_REPORT_BUDGET
from hf_text_to_image.tasks.redis_store import queue_key

REPOSITORY = Path(__file__).resolve().parents[1]
KUBERNETES = REPOSITORY / "kubernetes"
SCHEMAS = Path(__file__).parent / "schemas"
SCALED_OBJECT_SCHEMA = SCHEMAS / "http-scaled-object.schema.json"
# KEDA's own kinds: JSON schemas derived from its CustomResourceDefinitions.
KEDA_SCHEMAS = {
    "HTTPScaledObject": SCALED_OBJECT_SCHEMA,
    "ScaledObject": SCHEMAS / "scaled-object.schema.json",
    "TriggerAuthentication": SCHEMAS / "trigger-authentication.schema.json",
}
PROJECT = "hf-text-to-image"
SERVICE_STATEFUL = "hugging-face-text-to-image-stateful"

SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
# The oldest Kubernetes still commonly run, and the newest kubernetes-validate knew when the
# schemas were extracted (tests/schemas/extract_kubernetes.py).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def difference(left_name: str, left: set[str], right_name: str, right: set[str]) -> str:
    """Both sides of a set mismatch, named, for an assertion message."""
    return (
        f"\n  in {left_name} only: {sorted(left - right) or 'nothing'}"
        f"\n  in {right_name} only: {sorted(right - left) or 'nothing'}"
    )


# --- The manifests ------------------------------------------------------------------------


@cache
def documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every YAML document of kubernetes/*.yml, with the name of its file."""
    found = []
    for path in sorted(KUBERNETES.glob("*.yml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                found.append((path.name, document))
    return tuple(found)


def resource(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one manifest of that kind (and name)."""
    matches = [
        document
        for _, document in documents()
        if document["kind"] == kind and (name is None or document["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, (
        f"expected one {kind} {name or ''} in kubernetes/, found {len(matches)}"
    )
    return matches[0]


def config_map() -> dict[str, str]:
    return resource("ConfigMap")["data"]


def pod_spec() -> dict[str, Any]:
    return resource("StatefulSet", SERVICE_STATEFUL)["spec"]["template"]["spec"]


def container() -> dict[str, Any]:
    containers = pod_spec()["containers"]
    assert len(containers) == 1
    return containers[0]


def secret_names() -> set[str]:
    """The environment variables the StatefulSet takes from a Secret."""
    return {
        variable["name"]
        for variable in container().get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }


def seconds(duration: str) -> float:
    """A Go duration such as 330s, 5m or 1m30s, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert "".join(number + unit for number, unit in parts) == duration, (
        f"not a duration: {duration}"
    )
    return sum(float(number) * units[unit] for number, unit in parts)


@cache
def kubernetes_schemas(version: str) -> dict[str, Any]:
    """That version's schemas, read once (as kubernetes-validate, without a metaschema check)."""
    path = SCHEMAS / f"kubernetes-{version}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def kubernetes_validator(version: str, name: str) -> jsonschema.Draft202012Validator:
    schemas = kubernetes_schemas(version)
    assert name in schemas["kinds"], (
        f"no schema for {name} in tests/schemas/kubernetes-{version}.json: run "
        f"python tests/schemas/extract_kubernetes.py {' '.join(KUBERNETES_VERSIONS)}"
    )
    return jsonschema.Draft202012Validator({**schemas["kinds"][name], "$defs": schemas["$defs"]})


def validate_kubernetes(document: dict[str, Any], version: str) -> None:
    """Strictly against that version's schema of the kind, as a cluster would check it."""
    kubernetes_validator(version, schema_name(document)).validate(document)


def manifest_cases() -> list[Any]:
    return [
        pytest.param(document, version, id=f"{file_name}:{document['kind']}:{version}")
        for file_name, document in documents()
        for version in KUBERNETES_VERSIONS
    ]


@pytest.mark.parametrize(("document", "version"), manifest_cases())
def test_every_manifest_is_valid(document: dict[str, Any], version: str) -> None:
    """Strict: unknown fields fail. A kind without a bundled schema fails too, except KEDA's."""
    if "keda.sh/" in document["apiVersion"]:
        schema = json.loads(KEDA_SCHEMAS[document["kind"]].read_text(encoding="utf-8"))
        jsonschema.validate(document, schema)
        return
    validate_kubernetes(document, version)


def test_the_validators_refuse_a_misspelt_field() -> None:
    """Both checks bite: a typo that a cluster would refuse is refused here too."""
    stateful = json.loads(json.dumps(resource("StatefulSet", SERVICE_STATEFUL)))
    stateful["spec"]["template"]["spec"]["containers"][0]["readinessProb"] = {}
    with pytest.raises(jsonschema.ValidationError, match="readinessProb"):
        validate_kubernetes(stateful, KUBERNETES_VERSIONS[-1])

    scaled = json.loads(json.dumps(resource("HTTPScaledObject")))
    scaled["spec"]["replica"] = scaled["spec"].pop("replicas")
    schema = json.loads(SCALED_OBJECT_SCHEMA.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        jsonschema.validate(scaled, schema)
    del scaled["spec"]["scaleTargetRef"]["port"]
    scaled["spec"]["replicas"] = scaled["spec"].pop("replica")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, schema)

    queue_scaled = json.loads(json.dumps(resource("ScaledObject")))
    queue_scaled["spec"]["maxReplicas"] = queue_scaled["spec"].pop("maxReplicaCount")
    schema = json.loads(KEDA_SCHEMAS["ScaledObject"].read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError, match="maxReplicas"):
        jsonschema.validate(queue_scaled, schema)
    del queue_scaled["spec"]["triggers"][0]["type"]
    with pytest.raises(jsonschema.ValidationError, match="type"):
        jsonschema.validate(
            queue_scaled["spec"]["triggers"][0],
            schema["properties"]["spec"]["properties"]["triggers"]["items"],
        )


# --- Settings: the ConfigMap, the Secret and .env name every setting -----------------------


def test_config_map_and_secret_provide_every_setting_and_nothing_else() -> None:
    provided = set(config_map()) | secret_names()
    assert provided == SETTING_NAMES, "kubernetes/ and Settings disagree:" + difference(
        "config-map.yml + the Secret of stateful.yml", provided, "Settings", set(SETTING_NAMES)
    )


def test_secrets_come_from_the_secret_never_from_the_config_map() -> None:
    secret_fields = {
        name.upper()
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    assert secret_fields, "Settings has no SecretStr field any more: review this test"
    assert secret_names() == secret_fields, "the Secret and Settings' secrets disagree:" + (
        difference("stateful.yml's Secret", secret_names(), "SecretStr fields", secret_fields)
    )
    assert not secret_fields & set(config_map()), "a secret is in config-map.yml"


def test_env_file_names_the_same_settings_as_kubernetes() -> None:
    env_keys = set(dotenv_values(REPOSITORY / ".env"))
    provided = set(config_map()) | secret_names()
    assert env_keys == provided, ".env and kubernetes/ disagree:" + difference(
        ".env", env_keys, "config-map.yml + the Secret", provided
    )


def clear_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_config_map_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch)
    for name, value in config_map().items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.environment == "production"
    assert settings.hf_token is None


def test_env_file_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch)
    Settings(_env_file=REPOSITORY / ".env")


# --- Requirements ---------------------------------------------------------------------------


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        content = line.split("#", 1)[0].strip()
        if content:
            lines.append(content)
    return lines


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))


def runtime_requirements() -> dict[str, str]:
    requirements = map(Requirement, pyproject()["project"]["dependencies"])
    return {normalise(r.name): str(r.specifier) for r in requirements}


def test_requirements_txt_pins_exactly_the_runtime_set_that_was_tested() -> None:
    """requirements.txt: the runtime closure, each at requirements-all.txt's version."""
    listed = {}
    for line in requirement_lines(REPOSITORY / "requirements.txt"):
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", line), (
            f"requirements.txt: {line!r} is not an exact `name==version` pin"
        )
        name, version = line.split("==")
        listed[normalise(name)] = version
    closure = runtime_closure()
    assert set(listed) == closure, "requirements.txt is not the runtime set:" + (
        difference("requirements.txt", set(listed), "the runtime closure", set(closure))
    )
    differing = {name: (version, pins()[name]) for name, version in listed.items()}
    differing = {name: pair for name, pair in differing.items() if pair[0] != pair[1]}
    assert not differing, f"requirements.txt and requirements-all.txt pin differently: {differing}"
    assert set(runtime_requirements()) <= set(listed)


@cache
def pins(file_name: str = "requirements-all.txt") -> dict[str, str]:
    """requirements-all.txt (or another) as {name: version}; every line `name==version`."""
    found = {}
    for line in requirement_lines(REPOSITORY / file_name):
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", line), (
            f"{file_name}: {line!r} is not a plain `name==version` pin "
            "(no URL, git, editable or option lines)"
        )
        name, version = line.split("==")
        found[normalise(name)] = version
    return found


def test_requirements_all_pins_every_direct_dependency() -> None:
    declared = [*pyproject()["project"]["dependencies"]]
    declared += pyproject()["project"]["optional-dependencies"]["test"]
    names = {normalise(Requirement(text).name) for text in declared}
    missing = names - set(pins())
    assert not missing, f"not pinned in requirements-all.txt (regenerate it): {sorted(missing)}"
    for text in declared:
        requirement = Requirement(text)
        version = pins()[normalise(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements-all.txt pins {requirement.name}=={version}, outside {text!r}"
        )


def test_requirements_ci_is_the_tested_set_and_the_ci_tools() -> None:
    """requirements-ci.txt: every pin of requirements-all.txt, unchanged, and the `ci` extra."""
    ci = pins("requirements-ci.txt")
    differing = {
        name: (version, ci.get(name)) for name, version in pins().items() if ci.get(name) != version
    }
    assert not differing, f"requirements-ci.txt lacks or changes these pins: {differing}"
    for text in pyproject()["project"]["optional-dependencies"]["ci"]:
        requirement = Requirement(text)
        version = ci.get(normalise(requirement.name))
        assert version is not None, f"requirements-ci.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements-ci.txt pins {requirement.name}=={version}, outside {text!r}"
        )


@cache
def runtime_closure() -> frozenset[str]:
    """The runtime dependencies and all theirs, read from requirements-all.txt's `# via`."""
    via: dict[str, set[str]] = {}
    for line in (REPOSITORY / "requirements-all.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9._-]+)==\S+\s+# via (.*)", line)
        if match:
            parents = {normalise(p.strip().split(" (")[0]) for p in match[2].split(",")}
            via[normalise(match[1])] = parents
    closure = set(runtime_requirements())
    while True:
        more = {name for name, parents in via.items() if parents & closure} - closure
        if not more:
            return frozenset(closure)
        closure |= more


# --- The Dockerfile ---------------------------------------------------------------------------


@cache
def instructions() -> tuple[tuple[str, str], ...]:
    """The Dockerfile as (INSTRUCTION, arguments), continuations joined, comments left out."""
    found = []
    current = ""
    for line in (REPOSITORY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not current and not stripped):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arguments = current.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        current = ""
    assert not current, "the Dockerfile ends in a continuation"
    return tuple(found)


def arguments_of(keyword: str) -> list[str]:
    return [arguments for name, arguments in instructions() if name == keyword]


def image_command() -> list[str]:
    commands = arguments_of("CMD")
    assert commands, "the Dockerfile has no CMD"
    command = json.loads(commands[-1])  # the JSON (exec) form: no shell, signals reach uvicorn
    assert isinstance(command, list)
    assert all(isinstance(part, str) for part in command)
    return command


def uvicorn_options() -> dict[str, Any]:
    """The CMD parsed by uvicorn's own command line (an unknown option fails here)."""
    command = image_command()
    assert command[0] == "uvicorn", f"the image runs {command[0]}, not uvicorn"
    context = uvicorn_command_line.make_context("uvicorn", command[1:])
    return context.params


def image_user() -> str:
    users = arguments_of("USER")
    assert users, "the image runs as root: the Dockerfile has no USER"
    return users[-1]


def image_environment() -> dict[str, str]:
    environment = {}
    for arguments in arguments_of("ENV"):
        for assignment in shlex.split(arguments):
            name, _, value = assignment.partition("=")
            environment[name] = value
    return environment


def test_image_runs_uvicorn_with_the_app_on_port_80_behind_a_proxy() -> None:
    options = uvicorn_options()
    assert options["app"] == "main:app"
    assert options["host"] == "0.0.0.0"  # noqa: S104 - the container listens on its own address
    assert options["port"] == 80
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "*"


def test_image_exposes_80_and_runs_as_a_numeric_non_root_user() -> None:
    assert "80" in " ".join(arguments_of("EXPOSE")).split()
    uid = image_user().split(":")[0]
    assert uid.isdigit(), "a numeric USER lets Kubernetes' runAsNonRoot check it"
    assert int(uid) != 0


def test_image_sets_no_variable_from_the_build_environment() -> None:
    for name, value in image_environment().items():
        assert "$" not in value, f"ENV {name}={value}: settings come from the ConfigMap"


def image_copies() -> list[tuple[str, PurePosixPath]]:
    """(source in the repository, absolute destination) of every COPY, WORKDIR applied."""
    workdir = PurePosixPath("/")
    copies = []
    for keyword, arguments in instructions():
        if keyword == "WORKDIR":
            workdir = workdir / arguments
        elif keyword in {"COPY", "ADD"}:
            assert keyword == "COPY", "ADD fetches and unpacks: COPY is what is meant"
            *sources, destination = [p for p in shlex.split(arguments) if not p.startswith("--")]
            for source in sources:
                copies.append((source, workdir / destination))
    return copies


def image_workdir() -> PurePosixPath:
    workdir = PurePosixPath("/")
    for directory in arguments_of("WORKDIR"):
        workdir = workdir / directory
    return workdir


@cache
def dockerignore_patterns() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    """(excludes, pattern) for each line of .dockerignore; the last matching line decides."""
    patterns = []
    for line in (REPOSITORY / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        glob = line.lstrip("!").strip("/")
        expression = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            expression += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        patterns.append((excludes, re.compile(expression)))
    return tuple(patterns)


def in_build_context(relative: str) -> bool:
    """Whether Docker sends this path (relative to the repository) to the build."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    excluded = False
    for excludes, pattern in dockerignore_patterns():
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            excluded = excludes
    return not excluded


def files_copied(source: str) -> list[Path]:
    path = REPOSITORY / source
    assert path.exists(), f"COPY {source}: no such file in the repository"
    candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [p for p in candidates if in_build_context(p.relative_to(REPOSITORY).as_posix())]


def test_build_context_holds_what_the_image_copies_and_no_settings_or_tests() -> None:
    for source, _ in image_copies():
        python_files = [p for p in (REPOSITORY / source).rglob("*.py")]
        copied = files_copied(source)
        assert copied, f"COPY {source}: .dockerignore leaves nothing of it in the build context"
        assert set(python_files) <= set(copied), f".dockerignore drops sources of {source}"
    for private in (".env", "tests/conftest.py", ".git/HEAD", ".venv/pyvenv.cfg"):
        assert not in_build_context(private), f"{private} would be sent to the docker build"
    assert not in_build_context("src/hf_text_to_image/__pycache__/main.cpython-311.pyc")


# Run in a fresh interpreter: it hides every installed distribution that the image does not
# install (argv[2]), as if absent, then imports the app with uvicorn's own importer and says
# where `main` and the package came from. An optional import of a hidden package fails as it
# would in the image; a required one fails the probe.
IMPORT_PROBE = """
import json, re, sys
from importlib.metadata import packages_distributions

installed = set(json.loads(sys.argv[2]))
normalise = lambda name: re.sub(r"[-_.]+", "-", name).lower()
hidden = {
    module
    for module, owners in packages_distributions().items()
    if not any(normalise(owner) in installed for owner in owners)
}

class NotInTheImage:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} in the image", name=name)

sys.meta_path.insert(0, NotInTheImage())
sys.path.insert(0, ".")  # uvicorn's --app-dir default

from fastapi import FastAPI
from uvicorn.importer import import_from_string

app = import_from_string(sys.argv[1])
assert isinstance(app, FastAPI), type(app)
print(json.dumps({
    "main": sys.modules["main"].__file__,
    "package": sys.modules["hf_text_to_image"].__file__,
}))
"""


def test_image_command_imports_the_app_from_what_the_image_holds(tmp_path: Path) -> None:
    """A copy of the image's files (COPY and .dockerignore applied), the CMD's app imported
    from the last WORKDIR, with the image's ENV only and only the runtime dependencies."""
    image_root = tmp_path / "image"
    for source, destination in image_copies():
        target = image_root / destination.relative_to("/")
        for file in files_copied(source):
            relative = file.relative_to(REPOSITORY / source) if file != REPOSITORY / source else ""
            copy_to = target / relative if (REPOSITORY / source).is_dir() else target / file.name
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy_to)
    workdir = image_root / image_workdir().relative_to("/")
    assert workdir.is_dir(), f"WORKDIR {image_workdir()} holds nothing the image copied"

    environment = {"PATH": os.environ.get("PATH", ""), **image_environment()}
    installed = json.dumps(sorted(runtime_closure()))
    completed = subprocess.run(  # noqa: S603 - our interpreter, our probe
        [sys.executable, "-c", IMPORT_PROBE, uvicorn_options()["app"], installed],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert Path(report["main"]).is_relative_to(workdir), report["main"]
    assert Path(report["package"]).is_relative_to(workdir), "the package came from elsewhere"


# --- The StatefulSet, its Service, the ingress and KEDA --------------------------------------


def test_pods_outlive_their_shutdown() -> None:
    """SIGKILL must not cut the shutdown short: every accepted task gets its final report."""
    grace = pod_spec()["terminationGracePeriodSeconds"]
    shutdown_grace = float(config_map()["SHUTDOWN_GRACE_SECONDS"])
    assert grace > shutdown_grace
    open_requests = uvicorn_options()["timeout_graceful_shutdown"]
    assert open_requests is not None, "uvicorn would wait for open requests without limit"
    needed = open_requests + shutdown_grace + 2 * SHUTDOWN_REPORT_BUDGET + SLEEP_NOTICE_TIMEOUT
    assert grace > needed, f"terminationGracePeriodSeconds {grace} <= {needed} s of shutdown"


def test_probes_ask_status_and_live_on_the_port_the_image_serves() -> None:
    """Readiness follows /status (503 while shutting down or without Redis); liveness only
    asks whether the process answers, so that a Redis outage restarts no pod."""
    ports = {port["name"]: port["containerPort"] for port in container()["ports"]}
    assert set(ports.values()) == {uvicorn_options()["port"]}
    for probe, path in (("readinessProbe", "/status"), ("livenessProbe", "/live")):
        check = container()[probe]["httpGet"]
        assert check["path"] == path, probe
        assert ports.get(check["port"], check["port"]) == uvicorn_options()["port"], probe


def test_pods_run_as_the_image_user_never_root() -> None:
    security = pod_spec()["securityContext"]
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == image_user().split(":")[0]
    assert container()["securityContext"]["allowPrivilegeEscalation"] is False
    assert container()["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_container_has_resource_requests_and_limits() -> None:
    resources = container()["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert {"cpu", "memory"} <= set(resources["limits"])


def test_service_routes_to_the_pods() -> None:
    service = resource("Service", "hugging-face-text-to-image-service")
    labels = resource("StatefulSet", SERVICE_STATEFUL)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {port["name"]: port["containerPort"] for port in container()["ports"]}
    (port,) = service["spec"]["ports"]
    assert ports.get(port["targetPort"], port["targetPort"]) == uvicorn_options()["port"]


def test_keda_scales_the_stateful_set_behind_the_service() -> None:
    scaled = resource("HTTPScaledObject")["spec"]
    stateful = resource("StatefulSet", SERVICE_STATEFUL)
    service = resource("Service", scaled["scaleTargetRef"]["service"])
    target = scaled["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("StatefulSet", stateful["metadata"]["name"])
    assert target["apiVersion"] == stateful["apiVersion"]
    assert target["port"] in {port["port"] for port in service["spec"]["ports"]}
    assert scaled["replicas"]["min"] == 0
    assert scaled["replicas"]["max"] >= 1
    assert "replicas" not in stateful["spec"], "KEDA sets the replica count"


def test_slow_images_and_uploads_get_through_the_ingress_and_the_interceptor() -> None:
    deadline = float(config_map()["HF_RETRY_DEADLINE"])
    ingress = resource("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert float(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > deadline
    body = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert re.fullmatch(r"\d+[mM]", body)
    assert int(body[:-1]) * 2**20 > int(config_map()["MAX_DESCRIPTION_BYTES"])
    timeouts = resource("HTTPScaledObject")["spec"]["timeouts"]
    assert seconds(timeouts["responseHeader"]) > deadline


def test_ingress_and_engine_reach_the_service_through_the_interceptor() -> None:
    """Requests that bypassed the interceptor would neither count nor wake a replica."""
    scaled = resource("HTTPScaledObject")["spec"]
    ((rule,),) = [resource("Ingress")["spec"]["rules"]]
    backends = {json.dumps(path["backend"]) for path in rule["http"]["paths"]}
    (only_backend,) = backends
    backend = json.loads(only_backend)["service"]
    alias = resource("Service", backend["name"])
    assert alias["spec"]["type"] == "ExternalName"
    assert "interceptor" in alias["spec"]["externalName"]
    assert backend["port"]["number"] in {port["port"] for port in alias["spec"]["ports"]}
    service_url_host = re.match(r"https?://([^:/]+)", config_map()["SERVICE_URL"])
    assert service_url_host, config_map()["SERVICE_URL"]
    assert {rule["host"], service_url_host[1]} <= set(scaled["hosts"])
    assert service_url_host[1] == alias["metadata"]["name"]


# --- What the public ingress exposes ------------------------------------------------------

PUBLIC_PATHS = {"/process", "/v1/images/generations", "/docs", "/openapi.json", "/status"}


def public_paths() -> dict[str, str]:
    ((rule,),) = [resource("Ingress")["spec"]["rules"]]
    return {path["path"]: path["pathType"] for path in rule["http"]["paths"]}


def exposed(request_path: str) -> bool:
    """Whether the ingress routes `request_path`, matched as Kubernetes defines path types."""
    for path, path_type in public_paths().items():
        if path_type == "Exact" and request_path == path:
            return True
        if path_type == "Prefix" and (
            request_path == path or request_path.startswith(path.rstrip("/") + "/")
        ):
            return True
    return False


def test_ingress_exposes_exactly_what_the_public_needs() -> None:
    paths = public_paths()
    assert set(paths) - PUBLIC_PATHS == {"/static-offline-docs"}, paths
    assert set(paths) >= PUBLIC_PATHS
    assert {paths[path] for path in PUBLIC_PATHS} == {"Exact"}


def test_swagger_ui_loads_through_the_ingress(make_settings: Callable[..., Settings]) -> None:
    """Every asset /docs asks for is on a path the ingress routes."""
    with TestClient(create_app(make_settings())) as client:
        page = client.get("/docs").text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
        local = [asset for asset in assets if asset.startswith("/")]
        assert local, page
        for asset in local:
            assert exposed(asset), asset
            assert client.get(asset).status_code == 200, asset
        assert "/openapi.json" in page
    assert exposed("/openapi.json")


@pytest.mark.parametrize(
    "path",
    [
        "/compute",
        "/tasks/1/status",
        "/metrics",
        "/",
        "/process/",
        "/process/../compute",
        "/v1/images/edits",
        "/v1/images/generations/",
        "/docs/oauth2-redirect",
        "/redoc",
        "/statusx",
    ],
)
def test_ingress_keeps_engine_paths_inside_the_cluster(path: str) -> None:
    assert not exposed(path)


def test_shipped_trust_is_exactly_the_in_cluster_engine_and_its_object_store() -> None:
    settings = config_map()
    engines = json.loads(settings["ENGINE_URLS"])
    assert json.loads(settings["TRUSTED_ENGINE_ORIGINS"]) == [url.rstrip("/") for url in engines]
    assert json.loads(settings["TRUSTED_S3_ORIGINS"]) == ["http://minio:9000"]


def test_keda_scales_on_the_task_stream_and_on_http_load_in_one_scaled_object() -> None:
    """KEDA takes one ScaledObject per workload: the HTTP add-on's metric is one trigger."""
    http_scaled = resource("HTTPScaledObject")
    annotations = http_scaled["metadata"]["annotations"]
    assert annotations["httpscaledobject.keda.sh/skip-scaledobject-creation"] == "true"
    scaled = resource("ScaledObject")["spec"]
    stateful = resource("StatefulSet", SERVICE_STATEFUL)
    assert scaled["scaleTargetRef"]["name"] == stateful["metadata"]["name"]
    assert scaled["minReplicaCount"] == http_scaled["spec"]["replicas"]["min"]
    assert scaled["maxReplicaCount"] == http_scaled["spec"]["replicas"]["max"]
    triggers = {trigger["type"]: trigger for trigger in scaled["triggers"]}
    assert set(triggers) == {"external-push", "redis-streams"}
    http_metric = triggers["external-push"]["metadata"]
    assert http_metric["httpScaledObject"] == http_scaled["metadata"]["name"]

    queue = triggers["redis-streams"]
    assert queue["metadata"]["stream"] == queue_key(SLUG), "KEDA watches another stream"
    assert int(queue["metadata"]["streamLength"]) == int(config_map()["MAX_CONCURRENT_TASKS"])
    redis_service = resource("Service", "hugging-face-text-to-image-redis")
    host, port = queue["metadata"]["address"].split(":")
    assert host == redis_service["metadata"]["name"]
    assert int(port) in {entry["port"] for entry in redis_service["spec"]["ports"]}
    authentication = resource("TriggerAuthentication", queue["authenticationRef"]["name"])
    (password,) = authentication["spec"]["secretTargetRef"]
    redis_container = resource("StatefulSet", "hugging-face-text-to-image-redis")["spec"][
        "template"
    ]["spec"]["containers"][0]
    (redis_secret,) = [entry["valueFrom"]["secretKeyRef"] for entry in redis_container["env"]]
    assert (password["name"], password["key"]) == (redis_secret["name"], redis_secret["key"])


def test_redis_keeps_every_acknowledged_write_and_never_evicts_tasks() -> None:
    redis_set = resource("StatefulSet", "hugging-face-text-to-image-redis")
    command = " ".join(redis_set["spec"]["template"]["spec"]["containers"][0]["args"])
    for option in ("--appendonly yes", "--appendfsync always", "--maxmemory-policy noeviction"):
        assert option in command, option
    (claim,) = redis_set["spec"]["volumeClaimTemplates"]
    mounts = redis_set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in mounts
    assert "--dir /data" in command
    redis_labels = redis_set["spec"]["template"]["metadata"]["labels"]
    service_selector = resource("Service", "hugging-face-text-to-image-service")["spec"]["selector"]
    assert not service_selector.items() <= redis_labels.items(), "the service would route to Redis"
