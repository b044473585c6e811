"""Infrastructure and deploys: terraform, kubectl, helm, cloud CLIs, docker, secret stores,
hosting platforms, and the tools that create users, keys and permissions."""

from __future__ import annotations

import re

from ony.connector.actions import Classification, Context
from ony.connector.commands.arguments import positional, subcommand


def terraform(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = subcommand(args, ("-chdir",))
    if sub == "destroy" or (sub == "apply" and "-destroy" in rest):
        return Classification("infra.destroy", f"{name} {sub}")
    if sub in ("apply", "import", "taint", "untaint", "state", "refresh", "up", "deploy"):
        return Classification("infra.apply", f"{name} {sub}")
    if sub in (
        "plan",
        "validate",
        "fmt",
        "show",
        "init",
        "output",
        "providers",
        "version",
        "graph",
        "preview",
        "get",
        "workspace",
        "stack",
        "login",
    ):
        return Classification("infra.plan", f"{name} {sub}")
    return Classification("infra.apply", f"{name} {sub}".strip())


def kubectl(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = subcommand(args, ("-n", "--namespace", "--context", "-c", "--kubeconfig"))
    words = [w.lower() for w in positional(rest, ("-n", "--namespace", "-o", "--context"))]
    if sub in ("get", "describe") and words and words[0].startswith("secret"):
        return Classification("secret.read", f"kubectl {sub} secret")
    if sub == "create" and words and words[0] == "secret":
        return Classification("secret.write", "kubectl create secret")
    if sub in ("delete", "drain"):
        return Classification("infra.destroy", f"kubectl {sub} {' '.join(words[:2])}".strip())
    if sub in ("scale", "autoscale"):
        return Classification("infra.scale", f"kubectl {sub} {' '.join(words[:2])}".strip())
    if sub == "rollout" and words[:1] == ["undo"]:
        return Classification("deploy.rollback", "kubectl rollout undo")
    if sub in (
        "get",
        "describe",
        "logs",
        "diff",
        "top",
        "explain",
        "version",
        "api-resources",
        "cluster-info",
        "config",
        "auth",
        "events",
        "wait",
    ):
        return Classification("infra.plan", f"kubectl {sub}")
    if sub in ("create", "apply") and "rolebinding" in " ".join(words):
        return Classification("identity.permission_grant", f"kubectl {sub} {words[0]}")
    return Classification("infra.apply", f"kubectl {sub}".strip())


def helm(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = subcommand(args, ("-n", "--namespace", "--kube-context"))
    release = " ".join(positional(rest)[:1])
    if sub in ("uninstall", "delete", "del", "un"):
        return Classification("infra.destroy", f"helm {sub} {release}".strip())
    if sub == "rollback":
        return Classification("deploy.rollback", f"helm rollback {release}".strip())
    if sub in ("install", "upgrade"):
        return Classification("infra.apply", f"helm {sub} {release}".strip())
    return Classification("infra.plan", f"helm {sub}".strip())


def cloud_cli(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(positional(args)).lower()
    target = f"{name} {' '.join(positional(args)[:2])}"
    if re.search(
        r"get-secret-value|get-parameters?\b.*decrypt|secrets versions access|"
        r"keyvault secret show|print-access-token|get-login-password",
        words + " " + " ".join(args),
    ):
        return Classification("secret.read", target)
    if re.search(r"rotate|(create|update)-access-key|keys create", words):
        action = "secret.rotate" if "rotate" in words else "identity.key_create"
        return Classification(action, target)
    if re.search(
        r"put-secret-value|create-secret|secrets (create|versions add)|put-parameter", words
    ):
        return Classification("secret.write", target)
    if re.search(r"create-user|service-accounts create|ad user create", words):
        return Classification("identity.user_create", target)
    if re.search(
        r"attach-\w*-policy|put-\w*-policy|add-iam-policy-binding|role assignment create", words
    ):
        return Classification("identity.permission_grant", target)
    if re.search(r"\bs3 (cp|sync|mv)\b", words) and re.search(r"s3://\S+$", words):
        return Classification("network.upload", target)
    if re.search(r"\b(delete|terminate|remove|destroy)", words):
        return Classification("infra.destroy", target)
    if re.search(r"\b(describe|list|get|show|ls|whoami|info|version|help)", words):
        return Classification("infra.plan", target)
    return Classification("infra.apply", target)


def docker(name: str, args: list[str], context: Context) -> Classification:
    sub, rest = subcommand(args, ("-H", "--context", "-f", "--file", "-p", "--project-name"))
    if sub == "compose":
        return docker("docker", rest, context)
    if sub in ("build", "buildx"):
        return Classification("build.run", f"docker {sub}")
    if sub == "push":
        image = positional(rest)
        return Classification("package.publish", f"docker push {' '.join(image[:1])}".strip())
    if sub in ("ps", "images", "logs", "inspect", "version", "info", "config", "top", "stats"):
        return Classification("shell.readonly", f"docker {sub}")
    if sub == "login":
        return Classification("secret.write", "docker login")
    return Classification("shell.exec", f"docker {sub}".strip())


def vault(name: str, args: list[str], context: Context) -> Classification:
    words = [w.lower() for w in positional(args)]
    joined = " ".join(words)
    if re.search(r"\b(rotate|rekey)\b", joined):
        return Classification("secret.rotate", f"{name} {joined}"[:80])
    if re.search(r"\b(put|write|set|create|patch|edit|import|add|delete)\b", joined):
        return Classification("secret.write", f"{name} {joined}"[:80])
    return Classification("secret.read", f"{name} {joined}"[:80])


def platform_deploy(name: str, args: list[str], context: Context) -> Classification:
    words = " ".join(args)
    if name in ("vercel", "netlify"):
        if "--prod" in args or "--production" in args:
            return Classification("deploy.production", name)
        if name == "netlify" and "deploy" not in args:
            return Classification("shell.exec", f"netlify {words}"[:60])
        return Classification("deploy.preview", name)
    if re.search(r"\b(deploy|up|release)\b", words):
        return deploy_script(f"{name} {words}"[:60], [])
    if re.search(r"\bsecrets?\b", words):
        return Classification("secret.write" if "set" in words else "secret.read", name)
    if re.search(r"\bscale\b", words):
        return Classification("infra.scale", name)
    return Classification("shell.exec", f"{name} {words}"[:60])


def identity(name: str, args: list[str], context: Context) -> Classification:
    if name in ("ssh-keygen", "gpg", "openssl", "age-keygen"):
        if name == "gpg" and not any("gen" in a or "export-secret" in a for a in args):
            return Classification("shell.exec", name)
        if name == "openssl" and not {"genrsa", "genpkey", "req", "ecparam"} & set(args):
            return Classification("shell.exec", name)
        return Classification("identity.key_create", name)
    if name in ("usermod", "gpasswd", "chgrp", "setfacl", "visudo"):
        return Classification("identity.permission_grant", name)
    return Classification("identity.user_create", name)


def deploy_script(name: str, args: list[str]) -> Classification:
    """A deploy: to production unless it names staging or a preview."""
    words = " ".join([name, *args]).lower()
    if re.search(r"\b(staging|stage|stg)\b", words):
        return Classification("deploy.staging", name)
    if re.search(r"\b(preview|dev|review)\b", words):
        return Classification("deploy.preview", name)
    return Classification("deploy.production", name)
