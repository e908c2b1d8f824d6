#!/usr/bin/python3
"""aigw.yaml(5) from README.md's "Configuration reference" section, its one
source: headings become sections, tables become tagged paragraphs (key,
then type, default and meaning), text stays text. Usage:
  readme2man.py README.md VERSION DATE > aigw.yaml.5"""

import re
import sys


def roff(text):
    """Inline markdown to roff: code spans bold, links to their text."""
    text = text.replace("\\|", "|").replace("\\", "\\e")
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    return re.sub(r"^([.'])", r"\\&\1", text)


def section(lines):
    start = next(i for i, l in enumerate(lines) if l.strip() == "## Configuration reference")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start + 1:end]


def cells(row):
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def convert(body):
    out, head, verbatim = [], None, False
    for line in body:
        s = line.rstrip()
        if s.startswith("```"):
            verbatim = not verbatim
            out.append(".nf" if verbatim else ".fi")
            continue
        if verbatim:
            out.append(roff(s))
            continue
        if s.startswith("### "):
            out.append(f'.SS "{roff(s[4:]).strip()}"')
            head = None
        elif s.startswith("|"):
            c = cells(s)
            if head is None:
                head = c
            elif not set("".join(c)) <= set("-: "):
                out.append(".TP")
                out.append(roff(c[0]))
                rest = [f"{h}: {v}" for h, v in zip(head[1:], c[1:]) if v and h != "meaning"]
                meaning = c[head.index("meaning")] if "meaning" in head else ""
                out.append(roff("; ".join(rest) + (". " + meaning if meaning else "")))
        elif not s:
            head = None
            out.append(".PP")
        else:
            out.append(roff(s))
    return out


def main():
    readme, version, date = sys.argv[1:4]
    with open(readme) as f:
        body = section(f.read().splitlines())
    print(f'.TH AIGW.YAML 5 "{date}" "aigw {version}" "aigw"')
    print(".SH NAME\naigw.yaml \\- configuration of the aigw agent (aigwd)")
    print(".SH DESCRIPTION")
    print("\n".join(convert(body)))
    print(".SH FILES\n/etc/aigw/aigw.yaml")
    print(".SH SEE ALSO\n.BR aigwd (8),\n.BR aigwctl (8)")


main()
