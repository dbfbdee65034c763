"""Every setting has its default in irev/config.py only, and the documentation lists the same."""

import re
from pathlib import Path

from irev.config import Defaults

ROOT = Path(__file__).resolve().parent.parent
OURS = re.compile(r"^(IREV_|MAIL_)")


def _settings() -> set[str]:
    return {name for name in vars(Defaults) if name.isupper() and OURS.match(name)}


def test_no_code_repeats_a_default():
    """app.config.get("IREV_...", default) would hide a second default from config.py."""
    pattern = re.compile(r"config\.get\(\s*[\"'](IREV_\w+|MAIL_\w+)[\"']\s*,")
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(1)}"
        for path in (ROOT / "irev").rglob("*.py")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_readme_table_and_env_example_name_only_real_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`FLASK_((?:IREV|MAIL)_\w+)`", table))
    example = (ROOT / "deploy" / "irev.env.example").read_text(encoding="utf-8")
    in_example = set(re.findall(r"^#? ?FLASK_((?:IREV|MAIL)_\w+)=", example, re.M))
    settings = _settings() - {"MAIL_SUPPRESS_SEND"}  # Flask-Mail's test switch, not ours
    assert documented == settings
    assert in_example <= settings
