#!/usr/bin/env python3
"""Installs (or removes) the skills of this repository where a coding agent finds them.

Usually run through scripts/install.sh or scripts/install.ps1, which only locate Python 3.9+
and forward their arguments here. Standard library only.

Each installed skill folder gets a manifest, .install-manifest.json: the skill's version and
every file the installer wrote (with its SHA-256). A run checks everything it will touch
before it changes anything, and changes nothing when a check fails. A re-install replaces
the files on record and removes those the new version no longer has; --uninstall removes
exactly them. A file the user changed is never replaced or removed without --force.

A project install into a git work tree also lists the installed skill folders in the clone's
own exclude file (info/exclude), so that git status, and a review of the project's changes,
skip them; --uninstall removes exactly those lines.
"""
import argparse
import compileall
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

PROG = "install"
VERSION = "1.1.0"  # of the skills and this installer, which are released together
MANIFEST = ".install-manifest.json"
MANIFEST_FORMAT = 1
LOCK_POLL_SECONDS = 0.1
# A skill's vendored packages, kept in the repository (scripts/vendor-websocket-client.sh);
# vendor.txt pins them, one NAME==VERSION a line. They are copied like any other file.
VENDOR = "scripts/_vendor"
VENDOR_PINS = VENDOR + "/vendor.txt"

# What each skill needs in its source folder.
SKILLS = {
    "codex-ws-client": ["SKILL.md", "scripts/codex_ws_client.py", "scripts/codex_client/__init__.py"],
    "claude-cli-client": ["SKILL.md", "scripts/claude_cli_client.py", "scripts/claude_client/__init__.py"],
    "brainstorm": ["SKILL.md", "scripts/brainstorm.py", "scripts/brainstorm_lib/__init__.py"],
    "acp-client": ["SKILL.md", "scripts/acp_client.py", "scripts/acp_client/__init__.py"],
}
# brainstorm runs the two clients from their folders beside it, so installing it installs them too;
# acp-client, which only a council's gemini or acp seat needs, is left to the user's choice.
NEEDS = {"brainstorm": ["codex-ws-client", "claude-cli-client"]}
TARGETS = {"codex": ".codex", "agents": ".agents", "claude": ".claude"}
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")
DEFAULT_SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin", "skills")

DESCRIPTION = """\
Install the skills of this repository for Codex, other agents or Claude Code.

By default all the skills go into <project>/.codex/skills/, where the project is the current
directory. codex-ws-client carries its one dependency, websocket-client, in its own
scripts/_vendor/ folder, so nothing is fetched and no pip step is needed. The scripts are
installed compiled (bytecode), so that the first call starts fast."""

EPILOG = """\
targets (relative to the project, or with --global to your home folder):
  codex    .codex/skills   (with --global: $CODEX_HOME/skills when CODEX_HOME is set)
  agents   .agents/skills
  claude   .claude/skills

Every installed skill folder holds .install-manifest.json: the skill's version and the
files written. All checks run before the first change. Re-running replaces the
files (those the new version no longer has are removed); --uninstall removes exactly the
files and the folders the installer created. Files you added are kept and reported; a file
you changed is kept and reported too, and a re-install that would replace it stops unless
you give --force. Other skills are never touched.

In a git project, the installed skill folders are also added to the clone's local exclude
file (.git/info/exclude, never committed), so that git status and a review of your changes
skip them; files you commit anyway (git add -f) stay tracked. --uninstall removes exactly
those lines.

exit status:
  0    done
  1    stopped part way through a change (the error line says what to re-run)
  2    bad input or environment; nothing was changed
  130  interrupted

examples:
  scripts/install.sh --project ~/src/app              all skills, ~/src/app/.codex/skills
  scripts/install.sh --project ~/src/app --target codex,agents --dry-run
  scripts/install.sh --global --target claude codex-ws-client
  scripts/install.sh --list --global
  scripts/install.sh --uninstall --global --target claude"""


class InstallError(Exception):
    """A problem found before anything changed: one line on stderr, exit status 2."""


class Unmanaged(InstallError):
    """A skill folder that holds no manifest of this installer."""


class StoppedPartWay(Exception):
    """A failure after changes began: one line on stderr, exit status 1."""


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
                        help="codex, agents or claude; repeat or separate with commas "
                             "(default: codex; with --list: all)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--uninstall", action="store_true", help="remove what an earlier install wrote")
    action.add_argument("--list", action="store_true",
                        help="show which of the skills are installed where, and their versions")
    parser.add_argument("--dry-run", action="store_true",
                        help="run every check and say what would change, without changing anything")
    parser.add_argument("--force", action="store_true",
                        help="replace files you changed, and install into a skill folder that has no manifest")
    parser.add_argument("--source", metavar="DIR", default=DEFAULT_SOURCE,
                        help="install from this skills folder (default: the plugin/skills/ folder of this repository)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    args = parser.parse_args(argv)

    for option, value in (("--project", args.project), ("--source", args.source)):
        if value == "":
            raise InstallError(f"{option} needs a folder name, not an empty string")
    args.skills = unique_choices(args.skills, SKILLS, "skill") or list(SKILLS)
    if not (args.uninstall or args.list):
        args.skills = with_needed_skills(args.skills)
    names = [name.strip() for value in args.target or [] for name in value.split(",")]
    args.targets = unique_choices(names, TARGETS, "target") or (list(TARGETS) if args.list else ["codex"])
    return args


def with_needed_skills(names):
    """`names`, after the skills they need that are not among them."""
    needed = [need for name in names for need in NEEDS.get(name, ()) if need not in names]
    return list(dict.fromkeys(needed)) + names


def unique_choices(names, choices, kind):
    result = []
    for name in names:
        if name not in choices:
            raise InstallError(f"unknown {kind} {name!r} (choose from {', '.join(choices)})")
        if name not in result:
            result.append(name)
    return result


# ----------------------------------------------------------------------------- where to

def home_folder():
    # Python turns an empty HOME into "/", and a relative one would depend on the current directory.
    home = os.environ.get("HOME")
    if os.name != "nt" and home is not None and not os.path.isabs(home):
        raise InstallError(f"HOME={home!r} is not an absolute path; set HOME to your home folder")
    home = os.path.expanduser("~")
    if home == "~" or not os.path.isdir(home):
        raise InstallError(f"home folder {home!r} not found (set HOME)")
    return home


def root_folder(args):
    """The project folder, or with --global the home folder."""
    if args.global_:
        return home_folder()
    project = os.path.abspath(os.path.expanduser(args.project or os.getcwd()))
    if not os.path.isdir(project):
        raise InstallError(f"project folder {project} not found")
    return project


def skills_dirs(root, targets, global_):
    """The folders that hold skill folders, one per target: [(target, path)]."""
    roots = {name: os.path.join(root, folder) for name, folder in TARGETS.items()}
    if global_ and os.environ.get("CODEX_HOME"):
        roots["codex"] = os.path.abspath(os.path.expanduser(os.environ["CODEX_HOME"]))
    result, seen = [], set()
    for target in targets:
        path = os.path.join(roots[target], "skills")
        key = os.path.normcase(os.path.realpath(path))
        if key not in seen:  # e.g. two targets that are symlinks to one folder
            seen.add(key)
            result.append((target, path))
    return result


def acquire_lock(root):
    """Waits until no other install into root runs; the lock lasts until this process ends."""
    handle = open_lock(root)
    if not try_lock(handle):
        print(f"{PROG}: waiting for another install into {root} to finish", file=sys.stderr, flush=True)
        # Polled, not a blocking lock: a Ctrl-C that lands just before a blocking flock starts
        # would not interrupt it.
        while not try_lock(handle):
            time.sleep(LOCK_POLL_SECONDS)


def open_lock(root):
    if os.name == "nt":
        key = hashlib.sha256(os.path.normcase(os.path.realpath(root)).encode()).hexdigest()[:16]
        return os.open(os.path.join(tempfile.gettempdir(), f"skills-install-{key}.lock"), os.O_RDWR | os.O_CREAT)
    return os.open(root, os.O_RDONLY)  # a lock on the folder itself leaves no file behind


def try_lock(handle):
    """Takes the lock if no other process holds it; False at once when one does."""
    if os.name == "nt":
        import msvcrt
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


# ----------------------------------------------------------------------------- checks

def check_can_write(folder):
    """Raises unless files can be created in folder, or in the nearest existing folder above it
    (where the missing ones would be created)."""
    path = folder
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise InstallError(f"{path} is in the way: a folder is needed there; move it away first")
    if not os.access(path, os.W_OK | os.X_OK):
        raise InstallError(f"cannot write in {path}: permission denied")


def check_folders(skill_dir, writes, removals):
    """Every file to write has a writable folder and no folder in its place; every file to
    remove sits in a writable folder."""
    folders = {skill_dir}
    for rel in writes:
        path = local(skill_dir, rel)
        if os.path.isdir(path) and not os.path.islink(path):
            raise InstallError(f"cannot write {path}: a folder is in the way; move it away first")
        folders.add(os.path.dirname(path))
    folders.update(os.path.dirname(local(skill_dir, rel)) for rel in removals)
    for folder in sorted(folders):
        check_can_write(folder)


def describe(error):
    """An OSError as 'PATH: reason', without Python's [Errno N] prefix."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason


# ----------------------------------------------------------------------------- manifest

def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(skill_dir):
    """The manifest of an installed skill folder, None when the folder is absent or empty.

    Raises Unmanaged for a folder with files but no manifest."""
    if not os.path.lexists(skill_dir):
        return None
    if not os.path.isdir(skill_dir) or os.path.islink(skill_dir):
        raise InstallError(f"{skill_dir} exists and is not a folder; move it away first")
    path = os.path.join(skill_dir, MANIFEST)
    if not os.path.exists(path):
        if not os.listdir(skill_dir):
            return None
        raise Unmanaged(f"{skill_dir} exists but was not installed by this installer "
                        f"(no {MANIFEST}); move it away first, or install over it with --force")
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("files"), dict):
            raise ValueError("unknown format")
        for rel in list(manifest["files"]) + list(manifest.get("dirs", [])):
            _check_relative(rel)
    except OSError as error:
        raise InstallError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
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


def vendored_of(manifest):
    """{package: version} vendored by the install that wrote manifest (older ones did not say)."""
    vendored = (manifest or {}).get("vendored")
    return vendored if isinstance(vendored, dict) else {}


def local(skill_dir, rel):
    return os.path.join(skill_dir, *rel.split("/")) if rel else skill_dir


def content_differs(path, *digests):
    """True when path is a file whose content matches none of digests."""
    return os.path.isfile(path) and not os.path.islink(path) and sha256(path) not in digests


# ----------------------------------------------------------------------------- sources

def check_source(source, name):
    folder = os.path.join(source, name)
    if not os.path.isdir(folder):
        raise InstallError(f"source skill folder {folder} not found")
    missing = [rel for rel in SKILLS[name] if not os.path.isfile(local(folder, rel))]
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


def list_files(folder):
    """{relative posix path: absolute path} of the files under folder, minus caches."""
    files = {}
    for current, dirs, names in os.walk(folder):
        rel_dir = os.path.relpath(current, folder).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            if name.endswith(SKIP_SUFFIXES) or name == MANIFEST:
                continue
            files[rel_dir + name] = os.path.join(current, name)
    return files


# ----------------------------------------------------------------------------- vendored

def vendored_pins(source_files):
    """{package: version} pinned in a skill's vendor.txt; empty for a skill without one."""
    path = source_files.get(VENDOR_PINS)
    if path is None:
        return {}
    with open(path, encoding="utf-8") as handle:
        pins = [line.strip().partition("==") for line in handle if line.strip()]
    return {name: version for name, _, version in pins}


# ----------------------------------------------------------------------------- install

@dataclasses.dataclass
class InstallPlan:
    name: str
    base: str
    old: Optional[dict]  # the manifest of the install this one replaces
    copies: dict  # {rel: source path} of the files to write
    hashes: dict  # {rel: digest} of every file of the new install
    vendored: dict  # {package: version} of the packages in VENDOR
    replaced: list = dataclasses.field(default_factory=list)  # files the user changed; --force
    dropped: list = dataclasses.field(default_factory=list)  # old files the new version lacks
    kept: list = dataclasses.field(default_factory=list)  # ... that the user changed: kept

    @property
    def skill_dir(self):
        return os.path.join(self.base, self.name)


def plan_install(name, base, source_files, args):
    """Decides what installing name into base changes; raises InstallError if it cannot."""
    skill_dir = os.path.join(base, name)
    try:
        old = read_manifest(skill_dir)
    except Unmanaged:
        if not args.force:
            raise
        old = None  # adopt the folder: files of the same name are replaced, others left alone
    plan = InstallPlan(name, base, old, copies=dict(source_files), vendored=vendored_pins(source_files),
                       hashes={rel: sha256(path) for rel, path in source_files.items()})
    compare_with_disk(plan, args.force)
    return plan


def compare_with_disk(plan, force):
    """Sorts out the files the user changed, and the old files the new version lacks; raises
    InstallError when a change would replace the user's work or cannot be made."""
    skill_dir = plan.skill_dir
    old_files = plan.old["files"] if plan.old else {}
    plan.replaced = [rel for rel in plan.copies
                     if content_differs(local(skill_dir, rel), old_files.get(rel), plan.hashes[rel])]
    if plan.replaced and not force:
        raise InstallError(f"you changed {len(plan.replaced)} installed file(s) in {skill_dir}: "
                           f"{', '.join(plan.replaced)}; save your changes elsewhere, or re-run with "
                           "--force to replace them")
    gone = [rel for rel in old_files if rel not in plan.hashes and os.path.isfile(local(skill_dir, rel))]
    plan.kept = [rel for rel in gone if content_differs(local(skill_dir, rel), old_files[rel])]
    plan.dropped = [rel for rel in gone if rel not in plan.kept]
    check_folders(skill_dir, plan.copies, plan.dropped)


def install(args, bases):
    source = os.path.abspath(os.path.expanduser(args.source))
    sources = {name: check_source(source, name) for name in args.skills}
    plans = [plan_install(name, base, list_files(sources[name]), args)
             for name in args.skills for _, base in bases]
    if args.dry_run:
        for plan in plans:
            print(install_line(plan, done=False))
        return 0
    for plan in plans:
        apply_install(plan, sources[plan.name])
        print(install_line(plan, done=True), flush=True)
    return 0


def apply_install(plan, source_dir):
    try:
        write_skill(plan, source_dir)
    except OSError as error:
        raise StoppedPartWay(f"installing {plan.name} into {plan.base}: {describe(error)}; "
                             f"its {MANIFEST} lists every file written so far: fix the cause and "
                             "re-run the same command") from None


def write_skill(plan, source_dir):
    skill_dir = plan.skill_dir
    parents = created_parents(plan.base) or inherited_parents(plan.base, plan.name)
    if plan.old and plan.old.get("created_parents"):
        parents = plan.old["created_parents"]
    old_files = plan.old["files"] if plan.old else {}
    old_dirs = plan.old.get("dirs", []) if plan.old else []
    new_dirs = folders_of(plan.hashes)
    os.makedirs(skill_dir, exist_ok=True)
    # Until the copy is done, the manifest lists old and new files (with the old digest where
    # both have one), so that a run that stops part way leaves every file it wrote on record.
    manifest = {
        "format": MANIFEST_FORMAT,
        "installer": "codex-claude-skills scripts/install.py",
        "skill": plan.name,
        "version": VERSION,
        "installed_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": os.path.abspath(source_dir),
        "vendored": plan.vendored,
        "created_parents": parents,
        "dirs": sorted(set(new_dirs) | set(old_dirs)),
        "files": dict(plan.hashes, **old_files),
    }
    write_manifest(skill_dir, manifest)
    for rel, source_path in plan.copies.items():
        copy_file(source_path, local(skill_dir, rel))
    for rel in plan.dropped:
        os.remove(local(skill_dir, rel))
    remove_empty_dirs(skill_dir, [d for d in old_dirs if d and d not in new_dirs])
    manifest["dirs"] = new_dirs
    manifest["files"] = plan.hashes
    write_manifest(skill_dir, manifest)
    compile_bytecode(skill_dir)


def compile_bytecode(skill_dir):
    """Ships the scripts compiled, so that the first call, a read-only install or one run with
    PYTHONDONTWRITEBYTECODE=1 starts as fast as a warm one. A file that does not compile only
    starts slower: Python compiles it again when it runs."""
    scripts = os.path.join(skill_dir, "scripts")
    if os.path.isdir(scripts):
        # Beside the sources, where every Python looks, even when PYTHONPYCACHEPREFIX sends this
        # one's cache elsewhere (the installed copy would otherwise ship no bytecode at all).
        prefix, sys.pycache_prefix = sys.pycache_prefix, None
        try:
            compileall.compile_dir(scripts, quiet=2)
        finally:
            sys.pycache_prefix = prefix


def remove_caches(skill_dir, dirs):
    """The __pycache__ folders in the skill's folders: ours (compile_bytecode) or Python's own."""
    for rel in dirs:
        shutil.rmtree(os.path.join(local(skill_dir, rel), "__pycache__"), ignore_errors=True)


def copy_file(source, destination):
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    temporary = destination + ".install-tmp"
    try:
        shutil.copy2(source, temporary)
        os.replace(temporary, destination)
    finally:
        if os.path.lexists(temporary):
            os.remove(temporary)


def folders_of(files):
    return sorted({"/".join(rel.split("/")[:i]) for rel in files for i in range(len(rel.split("/")))})


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


def remove_empty_dirs(skill_dir, dirs):
    for rel in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        try:
            os.rmdir(local(skill_dir, rel))
        except OSError:
            pass  # not empty (something of the user's), or already gone


def arrow():
    """→, or -> where stdout cannot encode it (e.g. a Windows code page)."""
    try:
        "→".encode(sys.stdout.encoding or "ascii")
        return "→"
    except (UnicodeEncodeError, LookupError):
        return "->"


def install_line(plan, done):
    if plan.old:
        old_version = plan.old.get("version", "unknown")
        line = f"{past('update', done)} {plan.name} {old_version} {arrow()} {VERSION} in {plan.skill_dir}"
    else:
        line = f"{past('install', done)} {plan.name} {VERSION} into {plan.skill_dir}"
    details = [f"{len(plan.hashes)} files"]
    details += [f"{package} {version} in {VENDOR}" for package, version in plan.vendored.items()]
    line += f" ({'; '.join(details)})"
    if plan.replaced:
        line += f"; {past('replace', done)} {len(plan.replaced)} file(s) you changed: {', '.join(plan.replaced)}"
    if plan.kept:
        kept = "kept" if done else "would keep"
        line += f"; {kept} {len(plan.kept)} old file(s) you changed: {', '.join(sorted(plan.kept))}"
    return line


def past(verb, done):
    """'install' as 'installed' once done, else as 'would install'."""
    return (verb + "d" if verb.endswith("e") else verb + "ed") if done else "would " + verb


# ----------------------------------------------------------------------------- uninstall

@dataclasses.dataclass
class RemovePlan:
    name: str
    base: str
    manifest: Optional[dict]
    note: str = ""  # why nothing is removed
    removals: list = dataclasses.field(default_factory=list)
    changed: list = dataclasses.field(default_factory=list)

    @property
    def skill_dir(self):
        return os.path.join(self.base, self.name)


def plan_uninstall(name, base):
    plan = RemovePlan(name, base, manifest=None)
    try:
        plan.manifest = read_manifest(plan.skill_dir)
    except Unmanaged:
        plan.note = (f"left alone: {plan.skill_dir} (not installed by this installer: no {MANIFEST}; "
                     "its files are yours: delete them, or install over them with --force)")
        return plan
    if plan.manifest is None:
        plan.note = f"not installed: {name} in {base} (nothing to remove)"
        return plan
    for rel, digest in plan.manifest["files"].items():
        path = local(plan.skill_dir, rel)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        (plan.changed if content_differs(path, digest) else plan.removals).append(rel)
    check_folders(plan.skill_dir, [], plan.removals + [MANIFEST])
    return plan


def uninstall(args, bases):
    plans = [plan_uninstall(name, base) for name in args.skills for _, base in bases]
    for plan in plans:
        if plan.note:
            print(plan.note, flush=True)
        elif args.dry_run:
            keep = f"; would keep {len(plan.changed)} file(s) you changed" if plan.changed else ""
            print(f"would remove {plan.name} {plan.manifest.get('version', 'unknown')} from {plan.base} "
                  f"({len(plan.removals)} files){keep}")
        else:
            print(apply_uninstall(plan), flush=True)
    return 0


def apply_uninstall(plan):
    try:
        return remove_skill(plan)
    except OSError as error:
        raise StoppedPartWay(f"removing {plan.name} from {plan.base}: {describe(error)}; "
                             "fix the cause and re-run the same command") from None


def remove_skill(plan):
    skill_dir = plan.skill_dir
    for rel in plan.removals:
        os.remove(local(skill_dir, rel))
    os.remove(os.path.join(skill_dir, MANIFEST))
    dirs = [d for d in plan.manifest.get("dirs", []) if d] + [""]
    remove_caches(skill_dir, dirs)
    remove_empty_dirs(skill_dir, dirs)

    line = f"removed {plan.name} from {plan.base}"
    if os.path.isdir(skill_dir):
        remaining = sorted(list_files(skill_dir))
        added = [rel for rel in remaining if rel not in set(plan.changed)]
        notes = []
        if plan.changed:
            notes.append(f"{len(plan.changed)} file(s) you changed after installing: "
                         f"{', '.join(sorted(plan.changed))}")
        if added:
            notes.append(f"{len(added)} file(s) you added: {', '.join(added)}")
        line += f"; kept {skill_dir} with " + " and ".join(notes or ["empty folders you added"])
    else:
        for rel in plan.manifest.get("created_parents", []):
            if set(rel.split("/")) != {".."}:
                continue
            try:
                os.rmdir(os.path.normpath(os.path.join(skill_dir, *rel.split("/"))))
            except OSError:
                break  # not empty: other skills or the user's files
    return line


# ----------------------------------------------------------------------------- git exclude

# Heads the lines this installer adds to a clone's info/exclude; the lines of ours are the
# skill folder patterns right below it.
EXCLUDE_MARKER = "# skill folders installed by scripts/install.py (its --uninstall removes these lines)"
OUR_EXCLUDE_LINE = re.compile(r"/.+/(?:%s)/" % "|".join(map(re.escape, SKILLS)))


def update_git_exclude(root, skill_dirs, add, dry_run):
    """Adds (or removes) the skill folders in the exclude file of the git work tree that holds
    root, and says so in one line. Outside git nothing happens; a failure only warns, because
    the skills themselves are installed (or removed) by then."""
    found = git_exclude_file(root)
    if found is None:
        return
    path, top = found
    patterns = [exclude_pattern(root, top, skill_dir) for skill_dir in skill_dirs]
    try:
        text = read_exclude(path)
        new_text, count = (with_patterns if add else without_patterns)(text, patterns)
        if count and not dry_run:
            write_exclude(path, new_text)
    except OSError as error:
        print(f"{PROG}: warning: cannot update {path}: {describe(error)}; git status will show "
              "the installed skill folders", file=sys.stderr)
        return
    if count and add:
        print(f"{past('add', not dry_run)} {count} skill folder(s) to {path}, so that git status skips "
              "them (this clone only; tracked files are unaffected)")
    elif count:
        print(f"{past('remove', not dry_run)} the lines of {count} skill folder(s) from {path}")


def git_exclude_file(root):
    """(exclude file, repository top) of the git work tree root is in; None when root is in
    none, or git is not installed."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run([git, "rev-parse", "--show-toplevel", "--git-path", "info/exclude"], cwd=root,
                                stdin=subprocess.DEVNULL, capture_output=True)
    except OSError:
        return None
    lines = os.fsdecode(result.stdout).splitlines()
    if result.returncode != 0 or len(lines) != 2:
        return None  # not a work tree (e.g. inside a .git folder or a bare repository)
    top, exclude = lines
    return os.path.normpath(os.path.join(root, exclude)), top


def exclude_pattern(root, top, skill_dir):
    """The skill folder as a pattern rooted at the repository top, e.g. /.codex/skills/NAME/."""
    project = os.path.relpath(os.path.realpath(root), os.path.realpath(top))  # git's top is resolved
    rel = os.path.normpath(os.path.join(project, os.path.relpath(skill_dir, root))).replace(os.sep, "/")
    return "/" + re.sub(r"[\\*?\[]", lambda match: "\\" + match.group(), rel) + "/"


def read_exclude(path):
    """The file's text, every byte kept as it was; empty when there is no file yet."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return handle.read()


def write_exclude(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".install-tmp"
    try:
        with open(temporary, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.remove(temporary)


def our_block(lines):
    """(index of the marker, index after the last line of ours); None without the marker."""
    if EXCLUDE_MARKER not in lines:
        return None
    start = end = lines.index(EXCLUDE_MARKER)
    while end + 1 < len(lines) and OUR_EXCLUDE_LINE.fullmatch(lines[end + 1]):
        end += 1
    return start, end + 1


def with_patterns(text, patterns):
    """(text with the patterns it lacks added below the marker, how many were added)."""
    lines = text.split("\n")
    block = our_block(lines)
    if block is None:
        missing = list(dict.fromkeys(patterns))
        separator = "\n" if text and not text.endswith("\n") else ""
        return text + separator + "\n".join([EXCLUDE_MARKER] + missing) + "\n", len(missing)
    start, end = block
    missing = [pattern for pattern in dict.fromkeys(patterns) if pattern not in lines[start:end]]
    lines[end:end] = missing
    return "\n".join(lines), len(missing)


def without_patterns(text, patterns):
    """(text without those of the patterns below the marker, and without the marker once no
    line of ours is left; how many were removed)."""
    lines = text.split("\n")
    block = our_block(lines)
    if block is None:
        return text, 0
    start, end = block
    kept = [line for line in lines[start + 1:end] if line not in patterns]
    lines[start:end] = [EXCLUDE_MARKER] + kept if kept else []
    return "\n".join(lines), end - start - 1 - len(kept)


# ----------------------------------------------------------------------------- list

def list_installed(args, root):
    found = False
    for target, base in skills_dirs(root, args.targets, args.global_):
        for name in args.skills:
            try:
                manifest = read_manifest(os.path.join(base, name))
            except Unmanaged:
                print(f"{name} in {base}: not installed by this installer (no {MANIFEST})")
                found = True
                continue
            if manifest:
                vendored = "".join(f", {package} {version}" for package, version in vendored_of(manifest).items())
                print(f"{name} {manifest.get('version', 'unknown')} in {base} "
                      f"(installed {manifest.get('installed_at', 'at an unknown time')}{vendored})")
                found = True
    if not found:
        print(f"none of {', '.join(args.skills)} is installed in {root} "
              f"({', '.join(TARGETS[target] + '/skills' for target in args.targets)})")
    return 0


# ----------------------------------------------------------------------------- main

def run(argv):
    args = parse_args(argv)
    root = root_folder(args)
    if args.list:
        return list_installed(args, root)
    bases = skills_dirs(root, args.targets, args.global_)
    acquire_lock(root)
    status = uninstall(args, bases) if args.uninstall else install(args, bases)
    if not args.global_:
        skill_dirs = [os.path.join(base, name) for name in args.skills for _, base in bases]
        update_git_exclude(root, skill_dirs, add=not args.uninstall, dry_run=args.dry_run)
    return status


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except InstallError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except StoppedPartWay as error:
        print(f"{PROG}: error: stopped part way: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{PROG}: error: {describe(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    if sys.version_info < (3, 9):
        sys.stderr.write("install: error: Python 3.9 or newer is needed\n")
        sys.exit(2)
    sys.exit(main())
