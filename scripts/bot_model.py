#!/usr/bin/env python3
"""Train the Rasa model once per version of the bot's training data and print its path.

The model is cached under ${AFTERSALES_CACHE:-~/.cache/aftersales}/rasa-models/ by a
fingerprint of bot/config.yml, bot/domain/**, bot/data/** and bot/requirements.txt
(a new Rasa version needs a new model). Training output goes to stderr; the last line
on stdout is the model path. Plain standard library, so any python3 can run it.

    python3 scripts/bot_model.py            # train if needed, print the model path
    python3 scripts/bot_model.py --check    # exit 0 if a model for the current data is cached
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOT = REPO / "bot"
INPUTS = ("config.yml", "domain", "data", "requirements.txt")


def training_files() -> list[Path]:
    """Every file that changes what the model learns, in a stable order."""
    files: list[Path] = []
    for name in INPUTS:
        path = BOT / name
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(REPO).as_posix())


def fingerprint() -> str:
    """sha256 over the relative paths and contents of the training files."""
    digest = hashlib.sha256()
    for path in training_files():
        # Paths relative to the repo so the same data gives the same model on every machine;
        # the length prefixes keep path/content boundaries unambiguous.
        rel = path.relative_to(REPO).as_posix().encode()
        content = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(rel), rel, len(content)))
        digest.update(content)
    return digest.hexdigest()


def cache_dir() -> Path:
    """Folder holding the cached models."""
    root = os.environ.get("AFTERSALES_CACHE") or str(Path.home() / ".cache" / "aftersales")
    return Path(root).expanduser() / "rasa-models"


def train(rasa: Path, models: Path, name: str) -> Path:
    """Run `rasa train` into a temporary folder, then move the model into place atomically."""
    target = models / f"{name}.tar.gz"
    models.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Rasa's graph cache defaults to ./.rasa/cache; keep it out of the work tree and
    # reuse it across trainings so a change to stories alone does not retrain NLU.
    env.setdefault("RASA_CACHE_DIRECTORY", str(models.parent / "rasa-train-cache"))
    with tempfile.TemporaryDirectory(prefix=f".train-{name[:12]}-", dir=models) as tmp:
        cmd = [
            str(rasa),
            "train",
            "--config",
            str(BOT / "config.yml"),
            "--domain",
            str(BOT / "domain"),
            "--data",
            str(BOT / "data"),
            "--out",
            tmp,
            "--fixed-model-name",
            name,
        ]
        print(f"bot_model: training {name[:12]}… ({' '.join(cmd)})", file=sys.stderr, flush=True)
        started = time.monotonic()
        # Rasa's own progress goes to stderr so that stdout carries only the model path.
        result = subprocess.run(cmd, cwd=REPO, env=env, stdout=sys.stderr, stderr=sys.stderr)
        produced = Path(tmp) / f"{name}.tar.gz"
        if result.returncode != 0 or not produced.is_file():
            raise SystemExit(f"bot_model: rasa train failed (exit {result.returncode})")
        os.replace(produced, target)
        print(f"bot_model: trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bot-env",
        default=".venv-bot",
        help="Python environment with rasa installed (default: .venv-bot)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if a model for the current data is cached, 1 otherwise",
    )
    args = parser.parse_args(argv)

    name = fingerprint()
    target = cache_dir() / f"{name}.tar.gz"
    if args.check:
        if target.is_file():
            print(target)
            return 0
        print(f"bot_model: no cached model {target}", file=sys.stderr)
        return 1
    if target.is_file():
        print(f"bot_model: using cached model {name[:12]}", file=sys.stderr)
    else:
        bot_env = Path(args.bot_env)
        if not bot_env.is_absolute():
            bot_env = (Path.cwd() / bot_env) if (Path.cwd() / bot_env).exists() else REPO / bot_env
        rasa = bot_env / "bin" / "rasa"
        if not rasa.is_file():
            print(
                f"bot_model: {rasa} not found; install bot/requirements.txt into {bot_env}",
                file=sys.stderr,
            )
            return 2
        target = train(rasa, target.parent, name)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
