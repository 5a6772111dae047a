"""What a report is: the channel's own category when it names one, else its text through the classifier."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from router.channels import ChannelCategories, Target
from router.classify import Classification, TextClassifier
from router.rules import category_matches
from shared.contracts.reports import ReportReceived
from shared.taxonomy import Taxonomy

_STANDARD_CODE = re.compile(r"^\d{4}$")


class Categorizer:
    def __init__(
        self,
        taxonomy: Taxonomy,
        classifier: TextClassifier,
        channels: ChannelCategories,
        device_owner_kinds: Mapping[str, str],
    ) -> None:
        self.taxonomy = taxonomy
        self.classifier = classifier
        self.channels = channels
        self.device_owner_kinds = device_owner_kinds
        self._by_name = {c.name: c.id for c in taxonomy}

    def categorize(self, report: ReportReceived, hint_confidence: float) -> Classification:
        text = report.text.strip()
        hint = report.category_hint
        if hint is not None:
            found = self._from_hint(report, text, hint_confidence)
            if found is not None:
                return found
        if hint is not None and hint.name and hint.name not in text:
            text = f"{hint.name} {text}".strip()
        if not text:
            return Classification(None, 0.0, "none: no text and no category the router knows")
        return self.classifier.classify(text)

    def _from_hint(self, report: ReportReceived, text: str, hint_confidence: float) -> Classification | None:
        hint = report.category_hint
        assert hint is not None
        if hint.code in self.taxonomy:
            return Classification(hint.code, 1.0, f"{hint.scheme} hint {hint.code}")
        if hint.name and hint.name in self._by_name:
            return Classification(self._by_name[hint.name], 1.0, f"{hint.scheme} hint named {hint.name!r}")
        if hint.scheme == "taxonomy" and _STANDARD_CODE.match(hint.code):
            # The standard's bare 4-digit code exists once per kind (0101 上水井盖 and 0101 私搭乱建).
            ids = [i for i in (f"C{hint.code}", f"I{hint.code}") if i in self.taxonomy]
            if len(ids) == 1:
                return Classification(ids[0], 1.0, f"taxonomy hint {hint.code}")
            if ids:
                chosen = self.classifier.classify(text or hint.name or "", among=ids)
                return replace(
                    chosen,
                    confidence=max(chosen.confidence, hint_confidence),
                    method=f"taxonomy hint {hint.code} is {'/'.join(ids)}; the text chose",
                )
        target = self.channels.resolve(hint)
        if target is None:
            return None
        return self._from_target(report, target, text, hint_confidence)

    def _from_target(
        self, report: ReportReceived, target: Target, text: str, hint_confidence: float
    ) -> Classification | None:
        hint = report.category_hint
        assert hint is not None
        label = f"{hint.scheme} {hint.code}"
        if target.by_owner_kind:
            device = str(report.attributes.get("device_id") or report.reporter.id or "")
            owner_kind = self.device_owner_kinds.get(device)
            category_id = target.by_owner_kind.get(owner_kind or "", target.category_id)
            if category_id:
                return Classification(category_id, hint_confidence, f"{label} of a {owner_kind or 'unknown'} device")
            # Whose it is decides the class (and the department): unknown owner, the dispatchers decide.
            return Classification(
                None, 0.0, f"{label} of a device whose owner is not registered: the dispatchers decide"
            )
        if target.category_id:
            return Classification(target.category_id, hint_confidence, f"{label} maps to {target.category_id}")
        if target.among:
            ids = [c.id for c in self.taxonomy if any(category_matches(p, c.id) for p in target.among)]
            chosen = self.classifier.classify(text or hint.name or "", among=ids)
            return replace(chosen, method=f"{label} maps to {'/'.join(target.among)}; {chosen.method} chose")
        # Explicitly the queue: only a text naming a category in so many words (a keyword) overrides that.
        chosen = self.classifier.classify(text) if text else Classification(None, 0.0, "no text")
        if not chosen.keywords:
            return Classification(None, 0.0, f"{label} maps to the dispatchers' queue", chosen.candidates)
        return replace(chosen, method=f"{label} maps to the dispatchers' queue, but {chosen.method} says")
