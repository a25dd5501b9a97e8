"""The flags a program's --help names, for the deploy checks: those on its usage lines and
on its flag lines (lines that start with a flag), `--[no-]x` giving x and no-x."""
import re
import subprocess

FLAG = re.compile(r"(?<![\w-])--(\[no-\])?([a-z][\w.-]*[a-z0-9])")


def help_flags(argv):
    """argv: the program (and subcommand); the set of flag names without the dashes."""
    text = subprocess.run(argv + ["--help"], capture_output=True, text=True).stdout
    flags = set()
    for line in text.splitlines():
        if not (line.startswith("usage:") or line.lstrip().startswith("--")):
            continue
        for negatable, name in FLAG.findall(line):
            flags |= {name, "no-" + name} if negatable else {name}
    return flags
