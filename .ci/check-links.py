#!/usr/bin/env python3
"""Check the links of every Markdown file tracked by git.

For each `[text](target)` and `![alt](target)` (and each reference definition
`[label]: target`) outside fenced code blocks and inline code:

- `http://`, `https://` and `mailto:` targets are skipped;
- a relative target must resolve, relative to the Markdown file (a leading `/`: relative
  to the repository's root, as GitHub reads it), to a file or directory inside the
  repository that git tracks (a directory: one holding tracked files);
- a `#fragment` on the same file, on a `.md` file or on a directory with a README.md must
  name a heading of that file, by GitHub's anchor rules (see `slug`).

Prints every broken link as `file:line: target (reason)` and exits 1 if there is one, 0
otherwise. `--self-test` checks the anchor and link parsing on a few examples.

Standard library only.
"""

import os
import re
import subprocess
import sys
import unicodedata
from urllib.parse import unquote

SKIPPED_SCHEMES = ("http://", "https://", "mailto:")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
# [text](target "title"): the text may hold one level of nested brackets; the target may
# be <...> or hold balanced parentheses.
INLINE_LINK = re.compile(
    r"\[(?:[^\[\]\\]|\\.|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^>\n]*>|(?:[^\s()\\]|\\.|\([^\s()]*\))*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")


def blank_code_spans(line):
    """The line with every inline code span (and its backticks) replaced by spaces."""
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if line[i] == "`":
            j = i
            while j < len(line) and line[j] == "`":
                j += 1
            ticks = line[i:j]
            end = line.find(ticks, j)
            # A closing run must be exactly as long as the opening one.
            while end != -1 and end + len(ticks) < len(line) and line[end + len(ticks)] == "`":
                k = end
                while k < len(line) and line[k] == "`":
                    k += 1
                end = line.find(ticks, k)
            if end == -1:
                out.append(ticks)
                i = j
                continue
            out.append(" " * (end + len(ticks) - i))
            i = end + len(ticks)
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def outside_fences(lines):
    """Yield (line number, line) for the lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                continue
            yield number, line
        elif m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
            fence = None


def heading_text(raw):
    """A heading's text as GitHub renders it (inline markup removed)."""
    parts = re.split(r"(`+)(.*?)\1", raw)
    # re.split with two groups: [text, ticks, code, text, ticks, code, ...]
    text = []
    for index in range(0, len(parts), 3):
        plain = parts[index]
        plain = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", plain)  # images: their alt text
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", plain)  # links: their text
        plain = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", plain)  # reference links
        plain = re.sub(r"<[^>]+>", "", plain)  # inline HTML
        plain = re.sub(r"(?<![\w\\])_+|_+(?!\w)", "", plain)  # _emphasis_ delimiters
        plain = re.sub(r"\\(.)", r"\1", plain)  # backslash escapes
        text.append(plain)
        if index + 2 < len(parts):
            text.append(parts[index + 2])
    return "".join(text).strip()


def slug(text):
    """GitHub's anchor for a heading text: lower case, punctuation and symbols dropped
    (except `-` and `_`), every space a `-`."""
    kept = []
    for c in text.lower():
        category = unicodedata.category(c)
        if c in " -_" or category[0] in "LNM" or category == "Pc":
            kept.append(c)
    return "".join(kept).replace(" ", "-")


def anchors(lines):
    """Every anchor a Markdown file defines: its headings' slugs (duplicates numbered
    `-1`, `-2`, ... as GitHub does) and the ids of HTML anchors."""
    found = set()
    seen = {}
    previous = None  # the previous line outside fences, if it could be a setext heading

    def add(text):
        base = slug(heading_text(text))
        name = base
        if name in seen:
            while True:
                seen[base] += 1
                name = f"{base}-{seen[base]}"
                if name not in seen:
                    break
        seen.setdefault(name, 0)
        found.add(name)

    last_number = 0
    for number, line in outside_fences(lines):
        if number != last_number + 1:
            previous = None  # a fence in between
        last_number = number
        for m in HTML_ANCHOR.finditer(line):
            found.add(m.group(1))
        m = ATX.match(line)
        if m:
            add(m.group(2) or "")
            previous = None
            continue
        if previous is not None and SETEXT.match(line):
            add(previous)
            previous = None
            continue
        stripped = line.strip()
        if (
            stripped
            and not line.startswith("    ")
            and not re.match(r"^([-*+>|]|\d+[.)])(\s|$)", stripped)
            and not SETEXT.match(line)
        ):
            previous = stripped
        else:
            previous = None
    return found


def links(lines):
    """Yield (line number, target) for every link outside code."""
    for number, line in outside_fences(lines):
        text = blank_code_spans(line)
        m = REFERENCE_DEFINITION.match(text)
        if m:
            yield number, m.group(1).strip("<>")
            continue
        for m in INLINE_LINK.finditer(text):
            target = m.group(1)
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            yield number, target


class Repository:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=self.root, check=True, capture_output=True
        ).stdout.decode("utf-8")
        self.files = {f for f in listing.split("\0") if f}
        self.directories = {""}
        for f in self.files:
            parts = f.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                self.directories.add("/".join(parts[:i]))
        self._anchors = {}

    def markdown_files(self):
        return sorted(f for f in self.files if f.lower().endswith(".md"))

    def read_lines(self, path):
        with open(os.path.join(self.root, path), encoding="utf-8") as handle:
            return handle.read().splitlines()

    def anchors_of(self, path):
        if path not in self._anchors:
            self._anchors[path] = anchors(self.read_lines(path))
        return self._anchors[path]

    def check(self, source, target):
        """None when `target` (a link in the tracked file `source`) resolves, else why not."""
        if target.lower().startswith(SKIPPED_SCHEMES):
            return None
        path, _, fragment = target.partition("#")
        path = unquote(path.split("?", 1)[0])
        if path:
            if path.startswith("/"):
                joined = path.lstrip("/")
            else:
                joined = os.path.join(os.path.dirname(source), path)
            resolved = os.path.normpath(joined).replace(os.sep, "/")
            if resolved == ".":
                resolved = ""
            if resolved == ".." or resolved.startswith("../"):
                return "outside the repository"
            on_disk = os.path.join(self.root, resolved)
            if not os.path.exists(on_disk):
                return "no such file or directory"
            if resolved not in self.files and resolved not in self.directories:
                return "not tracked by git"
        else:
            resolved = source
        if not fragment:
            return None
        if resolved in self.directories:
            readme = f"{resolved}/README.md" if resolved else "README.md"
            if readme not in self.files:
                return None
            resolved = readme
        if not resolved.lower().endswith(".md"):
            return None  # a fragment of another kind of file (e.g. a line number)
        if unquote(fragment) not in self.anchors_of(resolved):
            return f"no heading #{fragment} in {resolved}"
        return None


def check_repository(root):
    repository = Repository(root)
    broken = 0
    for source in repository.markdown_files():
        for number, target in links(repository.read_lines(source)):
            reason = repository.check(source, target)
            if reason:
                print(f"{source}:{number}: {target} ({reason})")
                broken += 1
    return broken


def self_test():
    cases = {
        "The life of one message": "the-life-of-one-message",
        "`hub/`": "hub",
        "`adapters/provider`, `adapters/kiosk`": "adaptersprovider-adapterskiosk",
        "Detours: retry and dead letter": "detours-retry-and-dead-letter",
        "EndpointSim: a subscriber's back office over HTTP":
            "endpointsim-a-subscribers-back-office-over-http",
        "Ordering and idempotency": "ordering-and-idempotency",
        "What `hub_dead_letters_total` counts": "what-hub_dead_letters_total-counts",
        "A *bold* _move_ [to](x.md) Évergem!": "a-bold-move-to-évergem",
        "Tabs, dots... and 3 -- dashes": "tabs-dots-and-3----dashes",
    }
    failures = 0
    for heading, expected in cases.items():
        got = slug(heading_text(heading))
        if got != expected:
            print(f"slug({heading!r}) = {got!r}, expected {expected!r}")
            failures += 1
    document = [
        "# Tests",
        "## Tests",
        "Tests",
        "-----",
        "```sh",
        "# not a heading",
        "```",
        "Title",
        "=====",
        '<a name="custom"></a>',
    ]
    expected_anchors = {"tests", "tests-1", "tests-2", "title", "custom"}
    if anchors(document) != expected_anchors:
        print(f"anchors = {sorted(anchors(document))}, expected {sorted(expected_anchors)}")
        failures += 1
    text = [
        "See [a](a.md), ![b](img/b.png \"title\") and `[c](c.md)`.",
        "```",
        "[d](d.md)",
        "```",
        "[`e`](e.md#part) [f [g]](f(1).md) <https://x> [h](https://example.org)",
        "[ref]: docs/ref.md",
    ]
    expected_links = [
        (1, "a.md"), (1, "img/b.png"), (5, "e.md#part"), (5, "f(1).md"),
        (5, "https://example.org"), (6, "docs/ref.md"),
    ]
    if list(links(text)) != expected_links:
        print(f"links = {list(links(text))}, expected {expected_links}")
        failures += 1
    print("self-test:", "failed" if failures else "ok")
    return failures


def main(argv):
    if argv[1:] == ["--self-test"]:
        return 1 if self_test() else 0
    if len(argv) > 1:
        print(f"usage: {argv[0]} [--self-test]", file=sys.stderr)
        return 2
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    broken = check_repository(root)
    if broken:
        sys.stdout.flush()
        print(f"{broken} broken link(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
