"""The glossary of a committee page, and links to it from each term's first use.

A page ends with a glossary of the statistical terms it uses (:data:`GLOSSARY`,
:func:`glossary_html`); when the page is exported, the first use of each term above the
glossary links to its entry (:func:`link_first_uses`), so a reader who meets φ, τ² or
a q-value can look it up and come back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["GLOSSARY", "GLOSSARY_ID", "Term", "glossary_html", "link_first_uses"]

GLOSSARY_ID = "glossary"
"""The id of the glossary section; an entry's anchor is ``g-<key>``."""


@dataclass(frozen=True)
class Term:
    """One glossary entry: its anchor ``key``, the ``term`` shown, its ``definition``
    (plain text) and the ``patterns`` whose first match on a page links to it."""

    key: str
    term: str
    definition: str
    patterns: tuple[str, ...]
    ignore_case: bool = False

    @property
    def anchor(self) -> str:
        return f"g-{self.key}"


GLOSSARY: tuple[Term, ...] = (
    Term("tiers", "Flag tiers: above the benchmark, beyond chance, beyond the usual variation",
         "A practice is above the benchmark when its raw rate exceeds it; beyond chance "
         "when the exact test says the excess is more than chance explains, with the "
         "false-discovery rate held at 5% (BH q-value below 0.05); beyond the usual "
         "variation between practices, the robust flag, when its rate is also above the "
         "funnel limit widened by τ², that is further above the benchmark than practices "
         "usually differ from one another. When the practices vary no more than chance "
         "(the test of φ does not reject), the last two tiers are the same.",
         (r"beyond the usual variation", r"beyond chance")),
    Term("bh-q", "BH q-value (Benjamini–Hochberg)",
         "A p-value adjusted for testing many practices at once. Flagging every practice "
         "whose q-value is below 0.05 keeps the expected share of false flags among all "
         "flags at 5% or less (Benjamini and Hochberg, 1995).",
         (r"Benjamini[–-]Hochberg", r"\bBH q\b", r"\bq-values?\b", r"\bq \(BH\)")),
    Term("funnel", "Funnel limits",
         "For each volume, the range in which a practice billing exactly at the benchmark "
         "would fall by chance 95% (inner) or 99.8% (outer) of the time: wide for small "
         "practices, narrow for large ones (Spiegelhalter, 2005). A point above the outer "
         "limit is beyond chance; the dashed limits are widened for overdispersion.",
         (r"funnel limits?", r"funnel plot"), True),
    Term("phi", "φ (overdispersion factor)",
         "How much more the practices' rates differ from the rate of all practices than "
         "chance alone would make them differ: φ = 1 is chance alone, φ = 50 is fifty "
         "times the variance chance explains. A chi-square test of φ decides whether the "
         "practices vary beyond chance (Spiegelhalter, 2005).",
         (r"φ", r"\bphi\b", r"\boverdispersion\b"), True),
    Term("tau2", "τ² (between-practice variance, DerSimonian–Laird)",
         "The variance of the practices' true rates around their common rate, estimated "
         "from φ by the DerSimonian–Laird method (1986). The usual-variation funnel limits "
         "add τ² to the chance variance, so that only a practice further from the "
         "benchmark than practices usually differ is flagged.",
         (r"τ²", r"\btau2\b", r"DerSimonian[–-]Laird")),
    Term("shrinkage", "Shrinkage (empirical Bayes)",
         "Each practice's rate pulled toward the rate of all practices, the more the "
         "fewer its encounters, so that a small practice's extreme rate is not "
         "over-read; the probability that the true rate exceeds the benchmark comes from "
         "the same beta-binomial model.",
         (r"\bshrinkage\b", r"\bshrunken\b"), True),
    Term("psa", "PSA (probabilistic sensitivity analysis)",
         "The model rerun many times (10,000 by default) with every uncertain assumption "
         "drawn at once from a distribution fitted to its stated range; the 95% interval "
         "holds 95% of the results. It covers the uncertainty of the assumptions drawn, "
         "not the claims' own sampling error nor policy facts that are not published.",
         (r"\bPSA\b", r"probabilistic sensitivity analysis"), True),
    Term("tornado", "Tornado diagram (one-way sensitivity)",
         "Each assumption set alone to its low and then its high value, the others kept "
         "at the base case; the bars are sorted so that the assumption that moves the "
         "result most is on top.",
         (r"\btornado\b", r"one-way sensitivity"), True),
)


def glossary_html(terms: Iterable[str] | None = None) -> str:
    """The glossary section (every entry, or those whose keys are in ``terms``)."""
    keys = None if terms is None else set(terms)
    entries = "".join(
        f'<p id="{t.anchor}"><b>{html.escape(t.term)}.</b> {html.escape(t.definition)}</p>'
        for t in GLOSSARY if keys is None or t.key in keys)
    return f'<div id="{GLOSSARY_ID}" class="rad3d-glossary">{entries}</div>'


_TAG = re.compile(r"(<[^>]*>)")
_SKIP = {"a", "script", "style", "title", "code", "pre", "head", "svg", "h1", "h2", "h3",
         "caption", "th", "dt", "b", "button", "option", "textarea"}


def link_first_uses(page: str) -> str:
    """``page`` with the first use of each glossary term above the glossary linked to
    its entry.

    Only text is searched, never a tag, a link, a heading, a table header or code;
    a page without a glossary is returned as it is.

    >>> page = '<p>phi is 3; phi again</p><div id="glossary"><p id="g-phi">φ</p></div>'
    >>> link_first_uses(page).split("<div")[0]
    '<p><a class="rad3d-term" href="#g-phi">phi</a> is 3; phi again</p>'
    """
    end = page.find(f'id="{GLOSSARY_ID}"')
    if end < 0:
        return page
    end = page.rfind("<", 0, end)
    head, tail = page[:end], page[end:]
    present = [t for t in GLOSSARY if f'id="{t.anchor}"' in tail]
    pattern = {t.key: re.compile("|".join(t.patterns), re.I if t.ignore_case else 0)
               for t in present}
    done: set[str] = set()
    open_tags: list[str] = []
    out = []
    for piece in _TAG.split(head):
        if piece.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
            tag = name.group(1).lower() if name else ""
            if tag in _SKIP and not piece.endswith("/>"):
                if piece.startswith("</"):
                    if tag in open_tags:
                        del open_tags[len(open_tags) - 1 - open_tags[::-1].index(tag)]
                else:
                    open_tags.append(tag)
            out.append(piece)
            continue
        if open_tags or not piece.strip() or len(done) == len(present):
            out.append(piece)
            continue
        out.append(_link_text(piece, present, pattern, done))
    return "".join(out) + tail


def _link_text(text: str, terms: list[Term], pattern: dict[str, re.Pattern],
               done: set[str]) -> str:
    """One text node with the first match of each term not yet linked made a link."""
    hits = []
    for t in terms:
        if t.key in done:
            continue
        m = pattern[t.key].search(text)
        if m:
            hits.append((m.start(), m.end(), t))
    hits.sort(key=lambda h: h[0])
    out, last = [], 0
    for start, stop, t in hits:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(f'<a class="rad3d-term" href="#{t.anchor}">{text[start:stop]}</a>')
        last = stop
        done.add(t.key)
    out.append(text[last:])
    return "".join(out)
