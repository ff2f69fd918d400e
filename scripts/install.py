#!/usr/bin/env python3
"""Installs (or removes) the skills of this repository where a coding agent finds them.

Usually run through scripts/install.sh or scripts/install.ps1, which only locate Python and
forward their arguments here. Python 3.9+ standard library only.

Each installed skill folder gets a manifest, .install-manifest.json, that lists every file
the installer wrote (with its SHA-256) and the folders it created. A re-install replaces
those files and removes the ones the new version no longer has; --uninstall removes exactly
them. Anything else, in the skill folder or beside it, is left alone.
"""
import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

PROG = "install"
MANIFEST = ".install-manifest.json"
MANIFEST_FORMAT = 1
VENDOR = "scripts/_vendor"

# What each skill needs in its source folder, and what it needs from PyPI.
SKILLS = {
    "codex-ws-client": {
        "required": ["SKILL.md", "scripts/codex_ws_client.py", "scripts/codex_client/__init__.py"],
        "requirements": ["websocket-client>=1.6,<2"],
    },
    "claude-cli-client": {
        "required": ["SKILL.md", "scripts/claude_cli_client.py", "scripts/claude_client/__init__.py"],
        "requirements": [],
    },
}
TARGETS = {"codex": ".codex", "agents": ".agents", "claude": ".claude"}
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")
DEFAULT_SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "skills")

DESCRIPTION = """\
Install the skills of this repository for Codex, other agents or Claude Code.

By default both skills go into <project>/.codex/skills/, where the project is the current
directory. codex-ws-client gets its one dependency, websocket-client, installed with pip
into its own scripts/_vendor/ folder (skip with --no-deps and install it yourself)."""

EPILOG = """\
targets (relative to the project, or with --global to your home folder):
  codex    .codex/skills   (with --global: $CODEX_HOME/skills when CODEX_HOME is set)
  agents   .agents/skills
  claude   .claude/skills

Every installed skill folder holds .install-manifest.json, the list of files written.
Re-running replaces them (files the new version no longer has are removed); --uninstall
removes exactly those files and the folders the installer created. Files you added, or
changed after installing, are kept and reported. Other skills are never touched.

environment:
  CODEX_SKILLS_PIP_ARGS  extra arguments for `pip install` (e.g. --index-url URL)

exit status: 0 done, 2 error (nothing was changed when it is reported before any
"installed"/"removed" line)

examples:
  scripts/install.sh                                  both skills, ./.codex/skills
  scripts/install.sh --project ~/src/app --target codex,agents
  scripts/install.sh --global --target claude codex-ws-client
  scripts/install.sh --uninstall --global --target claude"""


class InstallError(Exception):
    """A problem reported as one line on stderr with exit status 2."""


class Unmanaged(InstallError):
    """A skill folder that this installer did not write."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InstallError(f"{message} (see --help)")


def parse_args(argv):
    parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("skills", nargs="*", metavar="SKILL",
                        help="skills to install or remove: " + ", ".join(SKILLS) + " (default: all)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--project", metavar="DIR",
                       help="install into this project folder (default: the current directory)")
    where.add_argument("--global", dest="global_", action="store_true",
                       help="install into your home folder instead of a project")
    parser.add_argument("--target", action="append", metavar="NAME",
                        help="codex, agents or claude; repeat or separate with commas (default: codex)")
    parser.add_argument("--uninstall", action="store_true",
                        help="remove what an earlier install wrote")
    parser.add_argument("--no-deps", action="store_true",
                        help="do not install websocket-client into codex-ws-client/scripts/_vendor")
    parser.add_argument("--source", metavar="DIR", default=DEFAULT_SOURCE,
                        help="install from this skills folder (default: the skills/ folder of this repository)")
    args = parser.parse_args(argv)

    names = []
    for name in args.skills:
        if name not in SKILLS:
            raise InstallError(f"unknown skill {name!r} (choose from {', '.join(SKILLS)})")
        if name not in names:
            names.append(name)
    args.skills = names or list(SKILLS)

    targets = []
    for value in args.target or ["codex"]:
        for name in value.split(","):
            name = name.strip()
            if name not in TARGETS:
                raise InstallError(f"unknown target {name!r} (choose from {', '.join(TARGETS)})")
            if name not in targets:
                targets.append(name)
    args.targets = targets
    return args


# ----------------------------------------------------------------------------- where to

def skills_dirs(args):
    """The folders that hold skill folders, one per target: [(target, path)]."""
    if args.global_:
        home = os.path.expanduser("~")
        if home == "~" or not os.path.isdir(home):
            raise InstallError(f"home folder {home!r} not found (set HOME)")
        roots = {name: os.path.join(home, folder) for name, folder in TARGETS.items()}
        if os.environ.get("CODEX_HOME"):
            roots["codex"] = os.path.abspath(os.path.expanduser(os.environ["CODEX_HOME"]))
    else:
        project = os.path.abspath(os.path.expanduser(args.project or os.getcwd()))
        if not os.path.isdir(project):
            raise InstallError(f"project folder {project} not found")
        roots = {name: os.path.join(project, folder) for name, folder in TARGETS.items()}
    result, seen = [], set()
    for target in args.targets:
        path = os.path.join(roots[target], "skills")
        key = os.path.normcase(os.path.realpath(path))
        if key not in seen:  # e.g. two targets that are symlinks to one folder
            seen.add(key)
            result.append((target, path))
    return result


# ----------------------------------------------------------------------------- manifest

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(skill_dir):
    """The manifest of an installed skill folder, None when the folder is absent or empty.

    Raises InstallError for a folder this installer did not write (no manifest)."""
    if not os.path.lexists(skill_dir):
        return None
    if not os.path.isdir(skill_dir) or os.path.islink(skill_dir):
        raise Unmanaged(f"{skill_dir} exists and is not a folder; move it away first")
    path = os.path.join(skill_dir, MANIFEST)
    if not os.path.exists(path):
        if not os.listdir(skill_dir):
            return None
        raise Unmanaged(f"{skill_dir} exists but was not installed by this installer "
                           f"(no {MANIFEST}); move it away first")
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("files"), dict):
            raise ValueError("unknown format")
        for rel in list(manifest["files"]) + list(manifest.get("dirs", [])):
            _check_relative(rel)
    except (OSError, ValueError) as error:
        raise InstallError(f"cannot read {path}: {error}") from None
    return manifest


def _check_relative(rel):
    parts = rel.split("/")
    if rel.startswith("/") or ":" in rel or ".." in parts or "\\" in rel:
        raise ValueError(f"unsafe path {rel!r}")


def write_manifest(skill_dir, manifest):
    path = os.path.join(skill_dir, MANIFEST)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


def local(skill_dir, rel):
    return os.path.join(skill_dir, *rel.split("/")) if rel else skill_dir


# ----------------------------------------------------------------------------- sources

def check_source(source, name):
    folder = os.path.join(source, name)
    if not os.path.isdir(folder):
        raise InstallError(f"source skill folder {folder} not found")
    missing = [rel for rel in SKILLS[name]["required"] if not os.path.isfile(local(folder, rel))]
    if missing:
        raise InstallError(f"source skill folder {folder} is incomplete: missing {', '.join(missing)}")
    declared = skill_md_name(local(folder, "SKILL.md"))
    if declared != name:
        raise InstallError(f"{local(folder, 'SKILL.md')} must start with front matter "
                           f"declaring 'name: {name}' (found {declared!r})")
    return folder


def skill_md_name(path):
    """The `name:` of a SKILL.md's YAML front matter, or None."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, _, value = line.partition(":")
        if key.strip() == "name":
            return value.strip().strip("'\"")
    return None


def list_files(folder, prefix="", skip_top=()):
    """{relative posix path: absolute path} of the files under folder, minus caches."""
    files = {}
    for current, dirs, names in os.walk(folder):
        rel_dir = os.path.relpath(current, folder).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and (rel_dir or d not in skip_top))
        for name in sorted(names):
            if name.endswith(SKIP_SUFFIXES) or name == MANIFEST:
                continue
            files[prefix + rel_dir + name] = os.path.join(current, name)
    return files


def vendor_files(requirements, staging):
    """Installs requirements with pip into a staging folder; returns its files as VENDOR/..."""
    target = os.path.join(staging, "vendor")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-input", "--no-compile",
               "--disable-pip-version-check", "--target", target,
               *shlex.split(os.environ.get("CODEX_SKILLS_PIP_ARGS", ""), posix=os.name != "nt"),
               *requirements]
    env = dict(os.environ, PIP_USER="0", PIP_REQUIRE_VIRTUALENV="0")
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
    except OSError as error:
        raise InstallError(f"cannot run pip: {error}") from None
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.lower().startswith("error")] or lines or ["no output"]
        raise InstallError(f"pip could not install {' '.join(requirements)} "
                           f"(exit {result.returncode}: {errors[-1]}); "
                           "install it yourself and re-run with --no-deps")
    # Console scripts (bin/) would name this Python by absolute path; the skill needs none.
    return list_files(target, prefix=VENDOR + "/", skip_top={"bin"})


# ----------------------------------------------------------------------------- install

def created_parents(base):
    """Creates base and its missing parents; returns them relative to a skill folder in base."""
    missing = []
    path = base
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        os.mkdir(path)
    return ["/".join([".."] * depth) for depth in range(1, len(missing) + 1)]


def inherited_parents(base, name):
    """Parent folders that an install of a sibling skill created (so uninstalling either can
    remove them once they are empty)."""
    for other in SKILLS:
        if other == name:
            continue
        try:
            manifest = read_manifest(os.path.join(base, other))
        except InstallError:
            continue
        if manifest and manifest.get("created_parents"):
            return [p for p in manifest["created_parents"] if set(p.split("/")) == {".."}]
    return []


def install_one(name, base, files, requirements, source_dir):
    """Writes one skill folder; returns the line to print."""
    skill_dir = os.path.join(base, name)
    old = read_manifest(skill_dir)
    parents = created_parents(base) or inherited_parents(base, name)
    if old and old.get("created_parents"):
        parents = old["created_parents"]
    new_hashes = {rel: sha256(path) for rel, path in files.items()}
    new_dirs = sorted({"/".join(rel.split("/")[:i]) for rel in files for i in range(len(rel.split("/")))})
    old_files = old["files"] if old else {}
    old_dirs = old.get("dirs", []) if old else []

    os.makedirs(skill_dir, exist_ok=True)
    # Until the copy is done, the manifest lists old and new files, so that an interrupted
    # run still leaves every file it may have written on record.
    manifest = {
        "format": MANIFEST_FORMAT,
        "installer": "codex-claude-skills scripts/install.py",
        "skill": name,
        "installed_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": os.path.abspath(source_dir),
        "vendored": requirements,
        "created_parents": parents,
        "dirs": sorted(set(new_dirs) | set(old_dirs)),
        "files": dict(old_files, **new_hashes),
    }
    write_manifest(skill_dir, manifest)
    for rel, source_path in files.items():
        destination = local(skill_dir, rel)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        if os.path.isdir(destination) and not os.path.islink(destination):
            raise InstallError(f"cannot write {destination}: a folder is in the way")
        temporary = destination + ".install-tmp"
        shutil.copy2(source_path, temporary)
        os.replace(temporary, destination)

    kept = []
    for rel, digest in old_files.items():
        if rel in new_hashes:
            continue
        path = local(skill_dir, rel)
        if os.path.isfile(path):
            if sha256(path) == digest:
                os.remove(path)
            else:
                kept.append(rel)
    remove_empty_dirs(skill_dir, [d for d in old_dirs if d and d not in new_dirs])
    manifest["dirs"] = new_dirs
    manifest["files"] = new_hashes
    write_manifest(skill_dir, manifest)

    verb = "updated" if old else "installed"
    details = [f"{len(files)} files"]
    if requirements:
        details.append(f"{', '.join(requirements)} in {VENDOR}")
    line = f"{verb} {name} -> {skill_dir} ({'; '.join(details)})"
    if kept:
        line += f"; kept {len(kept)} old file(s) you changed: {', '.join(sorted(kept))}"
    return line


def remove_empty_dirs(skill_dir, dirs):
    for rel in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        try:
            os.rmdir(local(skill_dir, rel))
        except OSError:
            pass  # not empty (something of the user's), or already gone


# ----------------------------------------------------------------------------- uninstall

def uninstall_one(name, base):
    skill_dir = os.path.join(base, name)
    try:
        manifest = read_manifest(skill_dir)
    except Unmanaged:
        return f"left alone: {skill_dir} (not installed by this installer: no {MANIFEST})"
    if manifest is None:
        return f"not installed: {name} in {base} (nothing to remove)"
    changed = []
    for rel, digest in manifest["files"].items():
        path = local(skill_dir, rel)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        if sha256(path) == digest:
            os.remove(path)
        else:
            changed.append(rel)
    os.remove(os.path.join(skill_dir, MANIFEST))
    remove_empty_dirs(skill_dir, [d for d in manifest.get("dirs", []) if d] + [""])

    line = f"removed {name} from {base}"
    if os.path.isdir(skill_dir):
        remaining = sorted(list_files(skill_dir))
        ours = set(changed)
        added = [rel for rel in remaining if rel not in ours]
        notes = []
        if changed:
            notes.append(f"{len(changed)} file(s) you changed after installing: {', '.join(sorted(changed))}")
        if added:
            notes.append(f"{len(added)} file(s) you added: {', '.join(added)}")
        line += f"; kept {skill_dir} with " + " and ".join(notes or ["empty folders you added"])
    else:
        for rel in manifest.get("created_parents", []):
            if set(rel.split("/")) != {".."}:
                continue
            try:
                os.rmdir(os.path.normpath(os.path.join(skill_dir, *rel.split("/"))))
            except OSError:
                break  # not empty: other skills or the user's files
    return line


# ----------------------------------------------------------------------------- main

def run(argv):
    args = parse_args(argv)
    bases = skills_dirs(args)
    if args.uninstall:
        for name in args.skills:  # check every manifest before changing anything
            for _, base in bases:
                try:
                    read_manifest(os.path.join(base, name))
                except Unmanaged:
                    pass  # reported and left alone below
        for name in args.skills:
            for _, base in bases:
                print(uninstall_one(name, base), flush=True)
        return 0

    source = os.path.abspath(os.path.expanduser(args.source))
    sources = {name: check_source(source, name) for name in args.skills}
    for name in args.skills:
        for _, base in bases:
            read_manifest(os.path.join(base, name))
    with tempfile.TemporaryDirectory(prefix="skills-install-") as staging:
        plan = {}
        for name in args.skills:
            files = list_files(sources[name])
            requirements = [] if args.no_deps else SKILLS[name]["requirements"]
            if requirements:
                files.update(vendor_files(requirements, staging))
            plan[name] = (files, requirements)
        for name in args.skills:
            files, requirements = plan[name]
            for _, base in bases:
                print(install_one(name, base, files, requirements, sources[name]), flush=True)
    return 0


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except InstallError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    if sys.version_info < (3, 9):
        sys.stderr.write("install: error: Python 3.9 or newer is needed\n")
        sys.exit(2)
    sys.exit(main())
