"""Writes tests/schemas/kubernetes-<version>.json: the strict schemas kubernetes/*.yml need.

kubernetes-validate bundles every kind of every Kubernetes version (108 MB installed); the
tests need the handful of kinds the manifests use, at the two versions they are checked
against. Run after adding a kind to kubernetes/ or to move the versions on, with the CI tools
installed (`pip install -r requirements-ci.txt`):

    python tests/schemas/extract_kubernetes.py 1.30.0 1.37.0

Each file holds one schema per kind (`<kind>-<group>-<version>` as kubernetes-validate names
them) and the definitions they reach, inlined under `$defs`; the descriptions are left out.
"""

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = Path(__file__).resolve().parent
KUBERNETES = SCHEMAS.parents[1] / "kubernetes"
REFERENCE = re.compile(r"^.*#/\$defs/")


def schema_name(document: dict[str, Any]) -> str:
    """kubernetes-validate's file name for the kind: `statefulset-apps-v1`."""
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", document["apiVersion"])
    return f"{document['kind'].lower()}-{api_version}"


def trimmed(value: Any, reached: set[str]) -> Any:
    """`value` without its descriptions, its references made local; notes what they name."""
    if isinstance(value, list):
        return [trimmed(item, reached) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "description" and isinstance(item, str):
            continue
        if key == "$ref" and isinstance(item, str):
            item = REFERENCE.sub("#/$defs/", item)
            reached.add(item.removeprefix("#/$defs/"))
        result[key] = trimmed(item, reached)
    return result


def extract(version: str) -> dict[str, Any]:
    # A CI tool, not a test dependency: the tests import this module for `schema_name`.
    import kubernetes_validate.utils as kubernetes_validate

    names = sorted(
        {
            schema_name(document)
            for path in sorted(KUBERNETES.glob("*.yml"))
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            if document is not None and "keda.sh/" not in document["apiVersion"]
        }
    )
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    definitions = kubernetes_validate.schema_contents(f"{folder}/_definitions.json", version)
    reached: set[str] = set()
    kinds = {
        name: trimmed(
            kubernetes_validate.schema_contents(f"{folder}/{name}.json", version), reached
        )
        for name in names
    }
    kept: dict[str, Any] = {}
    while pending := reached - set(kept):
        for name in sorted(pending):
            kept[name] = trimmed(definitions["$defs"][name], reached)
    return {"version": version, "kinds": kinds, "$defs": dict(sorted(kept.items()))}


def main(versions: list[str]) -> None:
    for version in versions:
        path = SCHEMAS / f"kubernetes-{version}.json"
        path.write_text(json.dumps(extract(version), indent=1, sort_keys=False) + "\n")
        print(f"wrote {path.relative_to(SCHEMAS.parents[1])}")


if __name__ == "__main__":
    main(sys.argv[1:])
